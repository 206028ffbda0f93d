"""The demo county `carepair up --demo` loads: its people in `county.json`, loaded over HTTP."""
