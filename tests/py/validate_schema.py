"""Validate a JSON or YAML document against a JSON Schema (draft 2020-12).
usage: python3 validate_schema.py SCHEMA DOCUMENT   (exit 0 valid, 1 invalid)"""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
try:
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
except jsonschema.ValidationError as e:
    print(f"invalid: {e.message} at {list(e.absolute_path)}")
    sys.exit(1)
print("valid")
