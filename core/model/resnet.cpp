#include "core/model/resnet.h"

#include "core/base/error.h"

namespace satclip::core {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false));
}

nn::Sequential shortcut(int64_t in, int64_t out, int64_t stride) {
  if (stride == 1 && in == out) return nullptr;
  return nn::Sequential(conv(in, out, 1, stride, 0), nn::BatchNorm2d(out));
}

template <typename Block, int64_t kExpansion>
nn::Sequential make_layer(int64_t& in, int64_t planes, int64_t blocks, int64_t stride) {
  nn::Sequential layer;
  for (int64_t i = 0; i < blocks; ++i) {
    layer->push_back(Block(in, planes, i == 0 ? stride : 1));
    in = planes * kExpansion;
  }
  return layer;
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in, planes, 3, stride, 1));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  if (auto s = shortcut(in, planes, stride)) downsample = register_module("downsample", s);
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1(conv1(x)));
  out = bn2(conv2(out));
  return torch::relu(out + (downsample ? downsample->forward(x) : x));
}

BottleneckImpl::BottleneckImpl(int64_t in, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in, planes, 1, 1, 0));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));  // stride on the 3x3 (timm)
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1, 1, 0));
  bn3 = register_module("bn3", nn::BatchNorm2d(planes * kExpansion));
  if (auto s = shortcut(in, planes * kExpansion, stride)) downsample = register_module("downsample", s);
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1(conv1(x)));
  out = torch::relu(bn2(conv2(out)));
  out = bn3(conv3(out));
  return torch::relu(out + (downsample ? downsample->forward(x) : x));
}

ResNetImpl::ResNetImpl(int depth, int64_t in_bands) {
  SATCLIP_CHECK(depth == 18 || depth == 50, cat("ResNet depth ", depth, " is not supported"),
                "use model.image_encoder resnet18 or resnet50");
  conv1 = register_module("conv1", conv(in_bands, 64, 7, 2, 3));
  bn1 = register_module("bn1", nn::BatchNorm2d(64));
  int64_t in = 64;
  if (depth == 18) {
    layer1 = register_module("layer1", make_layer<BasicBlock, 1>(in, 64, 2, 1));
    layer2 = register_module("layer2", make_layer<BasicBlock, 1>(in, 128, 2, 2));
    layer3 = register_module("layer3", make_layer<BasicBlock, 1>(in, 256, 2, 2));
    layer4 = register_module("layer4", make_layer<BasicBlock, 1>(in, 512, 2, 2));
  } else {
    layer1 = register_module("layer1", make_layer<Bottleneck, 4>(in, 64, 3, 1));
    layer2 = register_module("layer2", make_layer<Bottleneck, 4>(in, 128, 4, 2));
    layer3 = register_module("layer3", make_layer<Bottleneck, 4>(in, 256, 6, 2));
    layer4 = register_module("layer4", make_layer<Bottleneck, 4>(in, 512, 3, 2));
  }
  num_features_ = in;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    }
  }
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& x) {
  auto h = torch::relu(bn1(conv1(x)));
  h = torch::max_pool2d(h, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1);
  h = layer4->forward(layer3->forward(layer2->forward(layer1->forward(h))));
  return h.mean({2, 3});
}

}  // namespace satclip::core
