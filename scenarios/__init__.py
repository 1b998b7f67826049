"""The path scenarios shared by the tests, `certcopy replay` and the routing dry run; installed as the package
data `app.resources.scenarios`."""
