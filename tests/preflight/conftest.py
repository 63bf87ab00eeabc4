from tests.recipes.conftest import tiny_qwen2_dir  # noqa: F401  (the route tests validate with verl's critic config)
