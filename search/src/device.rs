//! Run-time device selection: `cpu` (burn's pure-Rust flex backend), `tch-cpu` and `cuda:N`
//! (libtorch, feature `tch`). Library code only ever receives a [`Device`].

use burn::tensor::Device;

use crate::{Error, Result};

/// Parses a `--device` value into a burn device.
///
/// # Errors
/// An unknown name, or a libtorch device in a build without the `tch` feature (the message
/// names the feature to build with).
pub fn parse_device(spec: &str) -> Result<Device> {
    let spec = spec.trim().to_ascii_lowercase();
    match spec.as_str() {
        "cpu" | "flex" => Ok(Device::flex()),
        "tch-cpu" | "libtorch" => libtorch_cpu(),
        s if s == "cuda" || s.starts_with("cuda:") => {
            let index = match s.strip_prefix("cuda:") {
                None => 0,
                Some(i) => i.parse::<usize>().map_err(|_| {
                    Error::Invalid(format!(
                        "--device {spec}: expected cuda:N with N a GPU index"
                    ))
                })?,
            };
            libtorch_cuda(index)
        }
        _ => Err(Error::Invalid(format!(
            "--device {spec}: unknown device; use cpu, tch-cpu or cuda:N"
        ))),
    }
}

// burn marks burn-tch deprecated in favour of CubeCL backends; it is still the libtorch path.
#[cfg(feature = "tch")]
#[allow(deprecated)]
fn libtorch_cpu() -> Result<Device> {
    Ok(Device::libtorch())
}

#[cfg(feature = "tch")]
#[allow(deprecated)]
fn libtorch_cuda(index: usize) -> Result<Device> {
    // Every step has the same shapes, so cuDNN's per-shape algorithm search pays for itself
    // (the reference DARTS code sets `torch.backends.cudnn.benchmark = True` too).
    tch::Cuda::cudnn_set_benchmark(true);
    Ok(Device::libtorch_cuda(index))
}

#[cfg(not(feature = "tch"))]
fn libtorch_cpu() -> Result<Device> {
    Err(no_tch("tch-cpu"))
}

#[cfg(not(feature = "tch"))]
fn libtorch_cuda(index: usize) -> Result<Device> {
    Err(no_tch(&format!("cuda:{index}")))
}

#[cfg(not(feature = "tch"))]
fn no_tch(name: &str) -> Error {
    Error::Backend(format!(
        "--device {name} needs the libtorch backend, which this build does not contain: \
         rebuild with `--features tch` (LIBTORCH_USE_PYTORCH=1 with PyTorch 2.9.0 installed; \
         see README, \"GPU search\")"
    ))
}

/// Whether this build contains the libtorch backend.
pub const HAS_TCH: bool = cfg!(feature = "tch");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_parses_and_unknown_is_an_error() {
        assert!(parse_device("cpu").is_ok());
        let err = parse_device("tpu").unwrap_err().to_string();
        assert!(err.contains("unknown device"), "{err}");
        assert!(parse_device("cuda:x").is_err());
    }

    #[cfg(not(feature = "tch"))]
    #[test]
    fn cuda_without_tch_names_the_feature() {
        let err = parse_device("cuda:0").unwrap_err().to_string();
        assert!(err.contains("--features tch"), "{err}");
    }
}
