"""The pySigma Backend class, for sigma-cli (`sigma convert -t secdet`).

secdet output is whole rule files, not queries, and a construct secdet
cannot express must refuse the rule, so the backend converts a collection
itself (convert.py) instead of assembling query tokens.
"""
from sigma.conversion.base import Backend
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

from .convert import convert_collection, lists_text


class SecdetBackend(Backend):
    name = "secdet"
    formats = {"default": "secdet rule files"}
    requires_pipeline = False

    def __init__(self, processing_pipeline=None, collect_errors=False, placeholders=None, **kwargs):
        super().__init__(processing_pipeline=processing_pipeline, collect_errors=collect_errors, **kwargs)
        self.placeholders = placeholders or {}

    def convert(self, rule_collection, output_format=None, correlation_method=None, callback=None):
        if self.processing_pipeline is not None and len(self.processing_pipeline.items) > 0:
            # applying it before the backend's own mapping would map field
            # names twice, and ignoring it would be silent
            raise SigmaFeatureNotSupportedByBackendError(
                "the secdet backend maps logsources and fields itself (docs/sigma.md); "
                "convert without a processing pipeline")
        rule_collection.resolve_rule_references()
        texts, results, lists = convert_collection(rule_collection, self.placeholders)
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
