"""A pySigma processing pipeline of field-name mappings, as the backend takes
it: it renames the fields of the rules converted through the user's
logsource map (--logsource, --other-source), whose names are otherwise
taken as written.

Only field renaming is exact to apply to a field name alone (and so the
same to a detection, a field reference and a correlation's group-by):
`field_name_mapping`, `field_name_prefix_mapping`, `field_name_prefix`,
`field_name_suffix`, `field_name_transform`, with rule conditions (`logsource`, ...) deciding which
rules an item applies to. Any other transformation, a field-name or
detection-item condition, a postprocessing item or finalizer is an error
naming it, rather than ignored. A mapping of one field to several (an OR in
pySigma) or to none refuses the rule; so does an item that would rename a
field of a rule whose log type the backend maps itself.
"""
from sigma.processing.transformations import (AddFieldnamePrefixTransformation, AddFieldnameSuffixTransformation,
                                              FieldMappingTransformation)

from sigma.pipelines.secdet import Refused

FIELD_TRANSFORMATIONS = (FieldMappingTransformation, AddFieldnamePrefixTransformation,
                         AddFieldnameSuffixTransformation)


class PipelineNotSupported(ValueError):
    """A processing pipeline that does more than rename fields."""


def _call(method, pipeline, arg):
    # pySigma 2: method(arg); 1.x: method(pipeline, arg)
    try:
        return method(arg)
    except TypeError:
        return method(pipeline, arg)


class FieldMap:
    def __init__(self, pipeline=None):
        self.pipeline = pipeline
        self.items = list(pipeline.items) if pipeline is not None else []
        for item in self.items:
            t = item.transformation
            name = item.identifier or type(t).__name__
            if not isinstance(t, FIELD_TRANSFORMATIONS):
                raise PipelineNotSupported(
                    f"processing item '{name}' ({type(t).__name__}): the secdet backend takes only field-name "
                    "mappings (field_name_mapping, field_name_prefix_mapping, field_name_prefix, field_name_suffix)")
            if getattr(item, "field_name_conditions", None) or getattr(item, "detection_item_conditions", None):
                raise PipelineNotSupported(
                    f"processing item '{name}': field-name and detection-item conditions are not supported "
                    "(a field must map the same way wherever the rule names it)")
            if isinstance(t, FieldMappingTransformation) and None in getattr(t, "mapping", {}):
                raise PipelineNotSupported(f"processing item '{name}' maps keywords (a null field), which secdet "
                                           "refuses (no full-text field)")
        if pipeline is not None:
            extra = [x for x in ("postprocessing_items", "finalizers") if getattr(pipeline, x, None)]
            if extra:
                raise PipelineNotSupported(f"processing pipeline {' and '.join(extra)}: the secdet backend "
                                           "writes rule files, not queries to postprocess")

    def __bool__(self):
        return bool(self.items)

    def map(self, rule, field):
        """The field's name after every item whose rule conditions match."""
        for item in self.items:
            if not _call(item.match_rule_conditions, self.pipeline, rule):
                continue
            out = item.transformation.apply_field_name(field)
            if out is None:
                continue
            if isinstance(out, list):
                if len(out) != 1:
                    raise Refused(f"the processing pipeline maps field '{field}' to {len(out)} fields "
                                  f"({', '.join(out) or 'none'}): secdet takes one")
                out = out[0]
            field = out
        return field
