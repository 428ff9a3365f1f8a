"""The pySigma Backend class, for sigma-cli (`sigma convert -t secdet`).

secdet output is whole rule files, not queries, and a construct secdet
cannot express must refuse the rule, so the backend converts a collection
itself (convert.py) instead of assembling query tokens.
"""
from sigma.conversion.base import Backend
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

from sigma.pipelines.secdet import parse_logsource_map

from .convert import convert_collection, lists_text
from .fieldmap import FieldMap, PipelineNotSupported


class SecdetBackend(Backend):
    name = "secdet"
    formats = {"default": "secdet rule files"}
    requires_pipeline = False

    def __init__(self, processing_pipeline=None, collect_errors=False, placeholders=None,
                 logsource_map=None, other_source=None, **kwargs):
        """logsource_map: `KEY=VALUE[,KEY=VALUE...]:SOURCE` entries, a string
        or a list, first match first (sigma-cli: `-O logsource_map=product=windows:jsonl`,
        repeatable), the rules of a logsource without a secdet log type that
        an entry matches become `on SOURCE`, fields as written; other_source:
        the source of every other such logsource (docs/sigma.md)."""
        super().__init__(processing_pipeline=processing_pipeline, collect_errors=collect_errors, **kwargs)
        self.placeholders = placeholders or {}
        self.logsource_map = parse_logsource_map(logsource_map)   # ValueError: a bad entry
        self.other_source = other_source

    def convert(self, rule_collection, output_format=None, correlation_method=None, callback=None):
        # a pipeline may only rename the fields of rules converted through
        # logsource_map / other_source (fieldmap.py); anything else it does
        # is an error, not ignored
        try:
            field_map = FieldMap(self.processing_pipeline)
        except PipelineNotSupported as e:
            raise SigmaFeatureNotSupportedByBackendError(
                f"{e}; the secdet backend maps logsources and fields itself (docs/sigma.md)") from None
        rule_collection.resolve_rule_references()
        texts, results, lists = convert_collection(rule_collection, self.placeholders, self.other_source,
                                                   self.logsource_map, field_map)
        self.results = results
        out = []
        for r in results:
            if r["status"] == "refused":
                err = SigmaFeatureNotSupportedByBackendError(f"Sigma rule {r['id']} refused: {r['reason']}")
                if self.collect_errors:
                    self.errors.append((r["rule"], err))
                else:
                    raise err
        head = lists_text(lists)
        for src in texts:
            out.append(head + "\n".join(texts[src]))
            head = ""
        return out

    def finalize_output_default(self, queries):
        return "\n".join(queries)


# Backend declares one abstract method per query fragment; this backend
# overrides convert() whole and never calls them, so none is needed.
SecdetBackend.__abstractmethods__ = frozenset()
