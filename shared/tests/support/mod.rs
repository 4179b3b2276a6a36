//! Test support shared by the integration tests of the `billing` crate.
#![allow(dead_code)]

pub mod apigw;
pub mod aws;
pub mod dashboard;
pub mod intake;
pub mod logs;
pub mod openapi;
pub mod polo;
pub mod recording;
pub mod system;
