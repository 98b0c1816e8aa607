// ResNet image encoders (ResNet18 with BasicBlocks, ResNet50 with Bottlenecks) for multispectral
// input: configurable input bands, global average pooling, no classifier.
//
// Module and parameter names equal timm's (conv1, bn1, layer1.0.conv1, ..., downsample.0/1), so a
// timm or torchgeo state dict loads by name (its fc.* entries are ignored: there is no fc).
#pragma once

#include <torch/torch.h>

namespace satclip::core {

struct BasicBlockImpl : torch::nn::Module {
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

struct BottleneckImpl : torch::nn::Module {
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

struct ResNetImpl : torch::nn::Module {
  // depth: 18 or 50.
  ResNetImpl(int depth, int64_t in_bands);
  // [B, in_bands, H, W] -> [B, num_features] (global average pool).
  torch::Tensor forward(const torch::Tensor& x);
  int64_t num_features() const { return num_features_; }

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};

 private:
  int64_t num_features_ = 0;
};
TORCH_MODULE(ResNet);

}  // namespace satclip::core
