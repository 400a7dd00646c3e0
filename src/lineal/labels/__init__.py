"""Label schemas as versioned lineage: the canonical schema model, format importers, diff.

COCO, KITTI, YOLO and Pascal VOC files are read into one canonical form (labels.schema) whose
digest is the schema's identity; nothing here is imported by ``import lineal``.
"""
