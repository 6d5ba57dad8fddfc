"""docs/xapi/profile.jsonld is valid JSON-LD, has the xAPI Profiles specification's
required properties, and describes every verb, activity type, extension and template
the statements use."""

from __future__ import annotations

import json
import re
from typing import Any

from pyld import jsonld

from peerlog.projections.xapi import vocabulary as v
from tests.xapi.profile import PROFILE_PATH, profile

PROFILES_CONTEXT = "https://w3id.org/xapi/profiles/context"
PROV = "http://www.w3.org/ns/prov#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
XAPI = "https://w3id.org/xapi/ontology#"
ONTOLOGY = "https://w3id.org/xapi/profiles/ontology#"
SCHEMA = "http://schema.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"


def _term(iri: str, *, kind: str | None = None, container: str | None = None) -> dict[str, str]:
    term = {"@id": iri}
    if kind is not None:
        term["@type"] = kind
    if container is not None:
        term["@container"] = container
    return term


# The terms of the profile context (xapi-profiles, context/profile-context.jsonld) that
# peerlog's profile uses, as the specification's tables define them. The document is
# loaded from here rather than from the network.
CONTEXT: dict[str, Any] = {
    "@context": {
        "id": "@id",
        "type": "@type",
        "Profile": f"{ONTOLOGY}Profile",
        "Organization": f"{SCHEMA}Organization",
        "Verb": f"{XAPI}Verb",
        "ActivityType": f"{XAPI}ActivityType",
        "ContextExtension": f"{XAPI}ContextExtension",
        "ResultExtension": f"{XAPI}ResultExtension",
        "StatementTemplate": f"{ONTOLOGY}StatementTemplate",
        "conformsTo": _term("http://purl.org/dc/terms/conformsTo", kind="@id"),
        "prefLabel": _term(f"{SKOS}prefLabel", container="@language"),
        "definition": _term(f"{SKOS}definition", container="@language"),
        "scopeNote": _term(f"{SKOS}scopeNote", container="@language"),
        "versions": _term(f"{ONTOLOGY}versions", container="@set"),
        "generatedAtTime": _term(f"{PROV}generatedAtTime", kind=f"{XSD}dateTime"),
        "wasRevisionOf": _term(f"{PROV}wasRevisionOf", kind="@id", container="@set"),
        "author": _term(f"{SCHEMA}author"),
        "name": _term(f"{SCHEMA}name"),
        "url": _term(f"{SCHEMA}url"),
        "concepts": _term(f"{ONTOLOGY}concepts", container="@set"),
        "templates": _term(f"{ONTOLOGY}templates", container="@set"),
        "inScheme": _term(f"{SKOS}inScheme", kind="@id"),
        "broadMatch": _term(f"{SKOS}broadMatch", kind="@id", container="@set"),
        "relatedMatch": _term(f"{SKOS}relatedMatch", kind="@id", container="@set"),
        "recommendedVerbs": _term(f"{ONTOLOGY}recommendedVerbs", kind="@id", container="@set"),
        "inlineSchema": _term(f"{ONTOLOGY}inlineSchema"),
        "verb": _term(f"{ONTOLOGY}verb", kind="@id"),
        "objectActivityType": _term(f"{ONTOLOGY}objectActivityType", kind="@id"),
        "contextGroupingActivityType": _term(
            f"{ONTOLOGY}contextGroupingActivityType", kind="@id", container="@set"
        ),
        "contextParentActivityType": _term(
            f"{ONTOLOGY}contextParentActivityType", kind="@id", container="@set"
        ),
        "objectStatementRefTemplate": _term(
            f"{ONTOLOGY}objectStatementRefTemplate", kind="@id", container="@set"
        ),
        "rules": _term(f"{ONTOLOGY}rules", container="@list"),
        "location": _term(f"{ONTOLOGY}location"),
        "presence": _term(f"{ONTOLOGY}presence"),
        "any": _term(f"{ONTOLOGY}any", container="@set"),
        "all": _term(f"{ONTOLOGY}all", container="@set"),
    }
}


def _loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    del options
    assert url == PROFILES_CONTEXT, f"the profile refers to a context other than {PROFILES_CONTEXT}"
    return {"contextUrl": None, "documentUrl": url, "document": CONTEXT}


def _keys(node: Any, inside: str = "") -> set[str]:
    """Every property name of the document, outside language maps."""
    if isinstance(node, list):
        return set().union(*(_keys(item, inside) for item in node)) if node else set()
    if not isinstance(node, dict) or inside in ("prefLabel", "definition", "scopeNote"):
        return set()
    keys = set(node)
    for key, value in node.items():
        keys |= _keys(value, key)
    return keys


def _empty(node: Any) -> bool:
    if node in (None, "", [], {}):
        return True
    if isinstance(node, list):
        return any(_empty(item) for item in node)
    if isinstance(node, dict):
        return any(_empty(value) for value in node.values())
    return False


def test_the_profile_is_valid_json_ld_whose_every_property_expands_to_an_iri() -> None:
    document = json.loads(PROFILE_PATH.read_text())
    assert document["@context"] == PROFILES_CONTEXT
    unknown = _keys(document) - set(CONTEXT["@context"]) - {"@context"}
    assert unknown == set(), f"properties that expand to no IRI: {sorted(unknown)}"
    expanded = jsonld.expand(document, {"documentLoader": _loader})
    (node,) = expanded
    assert node["@id"] == v.PROFILE
    assert node["@type"] == [f"{ONTOLOGY}Profile"]
    assert node[f"{SKOS}prefLabel"] == [{"@value": document["prefLabel"]["en"], "@language": "en"}]
    triples = jsonld.to_rdf(document, {"documentLoader": _loader, "format": "application/n-quads"})
    assert len(triples.splitlines()) > 500
    assert not _empty(document), "the specification allows no empty values"


def test_the_profile_has_the_required_properties() -> None:
    document = profile()
    for key in (
        "id",
        "@context",
        "type",
        "conformsTo",
        "prefLabel",
        "definition",
        "versions",
        "author",
    ):
        assert key in document, key
    assert document["type"] == "Profile"
    assert document["conformsTo"] == "https://w3id.org/xapi/profiles#1.0"
    assert [version["id"] for version in document["versions"]] == [v.PROFILE_VERSION]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["versions"][0]["generatedAtTime"]
    )
    assert document["author"]["type"] in ("Organization", "Person")
    assert document["author"]["name"]
    for concept in document["concepts"]:
        assert {"id", "type", "inScheme", "prefLabel", "definition"} <= set(concept), concept["id"]
        assert concept["inScheme"] == v.PROFILE_VERSION
        assert concept["id"].startswith(f"{v.PROFILE}/"), "peerlog defines only its own IRIs"
        if concept["type"].endswith("Extension"):
            json.loads(concept["inlineSchema"])
    for template in document["templates"]:
        assert {"id", "type", "inScheme", "prefLabel", "definition"} <= set(template)
        assert template["type"] == "StatementTemplate"
        assert template["inScheme"] == v.PROFILE_VERSION
        assert not ("objectStatementRefTemplate" in template and "objectActivityType" in template)
        ids = {t["id"] for t in document["templates"]}
        assert set(template.get("objectStatementRefTemplate", [])) <= ids
        for rule in template.get("rules", []):
            assert {"presence", "any", "all", "none"} & set(rule), rule


def test_the_profile_describes_every_iri_of_peerlogs_own_the_statements_use() -> None:
    own = {
        value
        for name, value in vars(v).items()
        if name.isupper()
        and isinstance(value, str)
        and value.startswith(f"{v.PROFILE}/")
        and value not in (v.PROFILE_VERSION, v.TEMPLATES, v.EXT)
    }
    described = {c["id"] for c in profile()["concepts"]} | {t["id"] for t in profile()["templates"]}
    assert own == described
