use ext_php_rs::prelude::*;

#[php_class]
pub struct AsyncBatchRunner;

#[php_impl]
impl AsyncBatchRunner {
    pub fn __construct() -> Self { Self }
    pub fn stats(&self) -> Vec<i64> { vec![] }
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module.class::<AsyncBatchRunner>()
}
