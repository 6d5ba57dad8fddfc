"""The IRIs peerlog's statements use: published ones where they mean the same, peerlog's
own (under :data:`PROFILE`) where nothing published does.

``docs/xapi/profile.jsonld`` describes every one of them; a test checks that the two
agree.
"""

from __future__ import annotations

from typing import Final

PROFILE: Final = "https://w3id.org/xapi/peerlog"
"""The profile as a whole; peerlog's own concepts live under it."""
PROFILE_VERSION: Final = f"{PROFILE}/v1.0"
"""The version of the profile the statements follow (a category context activity)."""
TEMPLATES: Final = f"{PROFILE}/templates"

# --- verbs ---------------------------------------------------------------------------
CHECKED_IN: Final = "http://activitystrea.ms/schema/1.0/checkin"
EXITED: Final = "http://adlnet.gov/expapi/verbs/exited"
JOINED: Final = "http://activitystrea.ms/schema/1.0/join"
LEFT: Final = "http://activitystrea.ms/schema/1.0/leave"
PERFORMED: Final = "https://w3id.org/xapi/dod-isd/verbs/performed"
OBSERVED: Final = "https://w3id.org/xapi/dod-isd/verbs/observed"
REFLECTED: Final = "https://w3id.org/xapi/catch/verbs/reflected"
ASSESSED: Final = "https://w3id.org/xapi/tla/verbs/assessed"
VOIDED: Final = "http://adlnet.gov/expapi/verbs/voided"
COMMENTED: Final = "http://adlnet.gov/expapi/verbs/commented"
SWITCHED_ROLE: Final = f"{PROFILE}/verbs/switched-role"
GAVE_FEEDBACK: Final = f"{PROFILE}/verbs/gave-feedback"
RECEIVED_FEEDBACK: Final = f"{PROFILE}/verbs/received-feedback"

VERB_LABELS: Final = {
    CHECKED_IN: "checked in",
    EXITED: "exited",
    JOINED: "joined",
    LEFT: "left",
    PERFORMED: "performed",
    OBSERVED: "observed",
    REFLECTED: "reflected",
    ASSESSED: "assessed",
    VOIDED: "voided",
    SWITCHED_ROLE: "switched role",
    GAVE_FEEDBACK: "gave feedback",
    RECEIVED_FEEDBACK: "received feedback",
}
"""How each verb the statements use reads (``verb.display``, in English)."""

# --- activity types ------------------------------------------------------------------
COURSE: Final = "http://adlnet.gov/expapi/activities/course"
OBJECTIVE: Final = "http://adlnet.gov/expapi/activities/objective"
ASSESSMENT: Final = "https://w3id.org/xapi/tla/activity-types/assessment"
PAIR: Final = f"{PROFILE}/activity-types/pair"
SESSION: Final = f"{PROFILE}/activity-types/session"
STEP: Final = f"{PROFILE}/activity-types/step"
FEEDBACK: Final = f"{PROFILE}/activity-types/feedback"
REFLECTION: Final = f"{PROFILE}/activity-types/reflection"

# --- extensions ----------------------------------------------------------------------
EXT: Final = f"{PROFILE}/extensions"
ROLE: Final = f"{EXT}/role"
SHIFT: Final = f"{EXT}/shift"
STEP_KIND: Final = f"{EXT}/step-kind"
FEEDBACK_SOURCE: Final = f"{EXT}/feedback-source"
COUNTERPART: Final = f"{EXT}/counterpart"
REFLECTION_MODE: Final = f"{EXT}/reflection-mode"
GIBBS_STAGES: Final = f"{EXT}/gibbs-stages"
ASSESSMENT_KIND: Final = f"{EXT}/assessment-kind"
LEVEL: Final = f"{EXT}/level"
VOIDING_REASON: Final = f"{EXT}/voiding-reason"
EVENT: Final = f"{EXT}/event"
TEXTS: Final = f"{EXT}/texts"

# --- statement templates -------------------------------------------------------------
T_SESSION_OPENED: Final = f"{TEMPLATES}/session-opened"
T_SESSION_CLOSED: Final = f"{TEMPLATES}/session-closed"
T_ROLE_SWITCHED: Final = f"{TEMPLATES}/role-switched"
T_STEP_PERFORMED: Final = f"{TEMPLATES}/step-performed"
T_STEP_OBSERVED: Final = f"{TEMPLATES}/step-observed"
T_FEEDBACK_GIVEN: Final = f"{TEMPLATES}/feedback-given"
T_FEEDBACK_RECEIVED: Final = f"{TEMPLATES}/feedback-received"
T_REFLECTION: Final = f"{TEMPLATES}/reflection"
T_ASSESSMENT: Final = f"{TEMPLATES}/assessment"
T_PAIR_FORMED: Final = f"{TEMPLATES}/pair-formed"
T_PAIR_DISSOLVED: Final = f"{TEMPLATES}/pair-dissolved"
T_CORRECTION: Final = f"{TEMPLATES}/correction"
T_RETRACTION: Final = f"{TEMPLATES}/retraction"
T_ERASURE: Final = f"{TEMPLATES}/erasure"
