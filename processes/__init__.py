"""The routing variants as BPMN files; installed as the package data `app.resources.processes`."""
