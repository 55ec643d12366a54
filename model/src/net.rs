//! The Burn MLP and its plain-data weights.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

/// Weights of one dense layer; `weight` is row-major `[d_in][d_out]` (`y = x W + b`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerWeights {
    pub d_in: usize,
    pub d_out: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// ReLU hidden layers and one logit output.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    pub fn from_weights(layers: &[LayerWeights], device: &Device) -> Self {
        let layers = layers
            .iter()
            .map(|l| {
                let w = Tensor::<2>::from_data(
                    TensorData::new(l.weight.clone(), [l.d_in, l.d_out]),
                    device,
                );
                let b = Tensor::<1>::from_data(TensorData::new(l.bias.clone(), [l.d_out]), device);
                Linear {
                    weight: Param::from_tensor(w),
                    bias: Some(Param::from_tensor(b)),
                }
            })
            .collect();
        Mlp { layers }
    }

    pub fn weights(&self) -> Vec<LayerWeights> {
        self.layers
            .iter()
            .map(|l| {
                let w = l.weight.val();
                let [d_in, d_out] = w.dims();
                let bias = l.bias.as_ref().expect("layers are built with a bias").val();
                LayerWeights {
                    d_in,
                    d_out,
                    weight: w.into_data().try_to_vec::<f32>().expect("f32 weights"),
                    bias: bias.into_data().try_to_vec::<f32>().expect("f32 bias"),
                }
            })
            .collect()
    }

    /// Logits, shape `[n, 1]`, of standardised inputs `[n, 6]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x, |x, (i, layer)| {
            let z = layer.forward(x);
            if i == last {
                z
            } else {
                relu(z)
            }
        })
    }
}
