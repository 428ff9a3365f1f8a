"""The pySigma Backend class (what `sigma convert -t secdet` instantiates):
it converts a collection into secdet rule files and reports each refused
rule as an error naming its id, collected or raised."""
import os
import sys

import pytest

from conftest import HAVE_PYSIGMA, ROOT

if not HAVE_PYSIGMA:
    pytest.skip("pySigma is not installed (tests/sigma/setup.sh installs it)", allow_module_level=True)
sys.path.insert(0, os.path.join(ROOT, "bindings", "sigma"))

from sigma.collection import SigmaCollection  # noqa: E402

from sigma.backends.secdet import SecdetBackend, backends  # noqa: E402

RULES = """\
title: Okta policy deleted
id: 40000000-0000-0000-0000-000000000001
logsource: {product: okta, service: okta}
detection:
    sel: {eventType: policy.lifecycle.delete}
    condition: sel
---
title: A Windows logon
id: 40000000-0000-0000-0000-000000000002
logsource: {product: windows, service: security}
detection:
    sel: {EventID: 4624}
    condition: sel
"""


def test_backend_is_registered_and_converts():
    assert backends["secdet"] is SecdetBackend
    b = SecdetBackend(collect_errors=True)
    out = b.convert(SigmaCollection.from_yaml(RULES))
    assert len(out) == 1 and 'on okta' in out[0] and '.eventType =~ "policy.lifecycle.delete"' in out[0]
    assert [str(e) for _, e in b.errors] == [
        "Sigma rule 40000000-0000-0000-0000-000000000002 refused: "
        "logsource product 'windows' service 'security' has no secdet log type"]


def test_backend_raises_on_a_refusal_without_collect_errors():
    with pytest.raises(Exception, match="40000000-0000-0000-0000-000000000002 refused"):
        SecdetBackend().convert(SigmaCollection.from_yaml(RULES))


def test_a_processing_pipeline_that_does_more_than_rename_fields_is_an_error():
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import AddConditionTransformation
    pl = ProcessingPipeline([ProcessingItem(AddConditionTransformation({"index": "x"}))])
    with pytest.raises(Exception, match="only field-name mappings"):
        SecdetBackend(processing_pipeline=pl).convert(SigmaCollection.from_yaml(RULES))


def test_a_pipeline_renames_fields_of_the_logsource_map_only():
    """A field_name_mapping renames the fields of the rules converted through
    logsource_map; renaming a field of a log type the backend maps itself
    refuses that rule rather than map twice."""
    from sigma.processing.conditions import LogsourceCondition
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import FieldMappingTransformation
    win = ProcessingItem(FieldMappingTransformation({"EventID": "winlog.event_id"}),
                         rule_conditions=[LogsourceCondition(product="windows")])
    b = SecdetBackend(processing_pipeline=ProcessingPipeline([win]), logsource_map="product=windows:jsonl")
    out = "".join(b.convert(SigmaCollection.from_yaml(RULES)))
    assert 'on jsonl\n    where .winlog.event_id in [4624, "4624"]' in out and "on okta" in out
    okta = ProcessingItem(FieldMappingTransformation({"eventType": "EventType"}))
    b = SecdetBackend(processing_pipeline=ProcessingPipeline([okta]), logsource_map="product=windows:jsonl",
                      collect_errors=True)
    out = "".join(b.convert(SigmaCollection.from_yaml(RULES)))
    assert "on jsonl" in out and "on okta" not in out
    assert [str(e) for _, e in b.errors] == [
        "Sigma rule 40000000-0000-0000-0000-000000000001 refused: the processing pipeline renames field "
        "'eventType' of a rule of log type okta, whose fields the backend maps itself"]


def test_backend_option_logsource_map():
    """sigma-cli's `-O logsource_map=product=windows:jsonl` (a string; a list
    when repeated) and `-O other_source=NAME` reach the backend as keywords."""
    for opt in ("product=windows:jsonl", ["product=aws:x", "service=security:jsonl"]):
        b = SecdetBackend(logsource_map=opt)
        out = "".join(b.convert(SigmaCollection.from_yaml(RULES)))
        assert "on jsonl\n" in out and 'EventID in [4624, "4624"]' in out and "on okta\n" in out
    b = SecdetBackend(other_source="winlog")
    assert "on winlog\n" in "".join(b.convert(SigmaCollection.from_yaml(RULES)))
    with pytest.raises(ValueError, match="logsource map entry 'windows'"):
        SecdetBackend(logsource_map="windows")
