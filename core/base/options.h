// The named choices of recipes and command lines as enums. Text is parsed into these once, at the
// boundary (core/recipe/recipe_fields.cpp, cli::Args::choice); code past it switches on the enum.
//
// Each enum lists its spellings once, in OptionNames<E>::table: the recipe accepts exactly those,
// and option_name() gives them back for logs, saved recipes and cache keys. No torch, no MPI.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace satclip {

template <typename E>
struct Named {
  E value;
  std::string_view name;
};

template <typename E>
struct OptionNames;  // specialised below: static constexpr Named<E> table[]

enum class Scaling { kDivide10000, kNormalize };        // data.scaling
enum class BandLayout { kSatclip, kSeed, kNone };       // data.band_layout
enum class Crop { kResize, kRandom, kCenter };          // data.crop
enum class ImageEncoderKind { kResnet18, kResnet50, kVitS16 };  // model.image_encoder
enum class LocationEncoderKind { kGeoclip, kShSiren };  // model.location_encoder
enum class Projection { kProject, kLinear, kSatclip };  // model.projection
enum class Harmonics { kClosedForm, kAnalytic };        // model.harmonics
enum class LossKind { kSoftClip, kInfoNce };            // loss.kind
enum class Scheduler { kNone, kPlateau, kCosine };      // optim.scheduler
enum class Switch { kAuto, kOn, kOff };                 // optim.fused, train.channels_last
enum class Precision { kFp32, kBf16 };                  // train.precision
enum class NonFinite { kAbort, kSkip };                 // train.nonfinite
enum class HostSync { kAuto, kStep, kLog };             // train.host_sync
enum class Backend { kAuto, kLocal, kMpi, kNccl };      // distributed.backend
enum class EmbedStage { kProjection, kEncoder };        // satclip-embed and satclip-eval --stage
enum class ProgressStyle { kAuto, kBar, kLines };       // satclip-pack --progress (auto: bar on a terminal)

#define SATCLIP_OPTION_NAMES(E, ...)                    \
  template <>                                           \
  struct OptionNames<E> {                               \
    static constexpr Named<E> table[] = {__VA_ARGS__}; \
  }

SATCLIP_OPTION_NAMES(Scaling, {Scaling::kDivide10000, "divide10000"}, {Scaling::kNormalize, "normalize"});
SATCLIP_OPTION_NAMES(BandLayout, {BandLayout::kSatclip, "satclip"}, {BandLayout::kSeed, "seed"},
                     {BandLayout::kNone, "none"});
SATCLIP_OPTION_NAMES(Crop, {Crop::kResize, "resize"}, {Crop::kRandom, "random"}, {Crop::kCenter, "center"});
SATCLIP_OPTION_NAMES(ImageEncoderKind, {ImageEncoderKind::kResnet18, "resnet18"},
                     {ImageEncoderKind::kResnet50, "resnet50"}, {ImageEncoderKind::kVitS16, "vit_s16"});
SATCLIP_OPTION_NAMES(LocationEncoderKind, {LocationEncoderKind::kGeoclip, "geoclip"},
                     {LocationEncoderKind::kShSiren, "sh_siren"});
SATCLIP_OPTION_NAMES(Projection, {Projection::kProject, "project"}, {Projection::kLinear, "linear"},
                     {Projection::kSatclip, "satclip"});
SATCLIP_OPTION_NAMES(Harmonics, {Harmonics::kClosedForm, "closed_form"}, {Harmonics::kAnalytic, "analytic"});
SATCLIP_OPTION_NAMES(LossKind, {LossKind::kSoftClip, "soft_clip"}, {LossKind::kInfoNce, "info_nce"});
SATCLIP_OPTION_NAMES(Scheduler, {Scheduler::kNone, "none"}, {Scheduler::kPlateau, "plateau"},
                     {Scheduler::kCosine, "cosine"});
SATCLIP_OPTION_NAMES(Switch, {Switch::kAuto, "auto"}, {Switch::kOn, "on"}, {Switch::kOff, "off"});
SATCLIP_OPTION_NAMES(Precision, {Precision::kFp32, "fp32"}, {Precision::kBf16, "bf16"});
SATCLIP_OPTION_NAMES(NonFinite, {NonFinite::kAbort, "abort"}, {NonFinite::kSkip, "skip"});
SATCLIP_OPTION_NAMES(HostSync, {HostSync::kAuto, "auto"}, {HostSync::kStep, "step"}, {HostSync::kLog, "log"});
SATCLIP_OPTION_NAMES(Backend, {Backend::kAuto, "auto"}, {Backend::kLocal, "local"}, {Backend::kMpi, "mpi"},
                     {Backend::kNccl, "nccl"});
SATCLIP_OPTION_NAMES(EmbedStage, {EmbedStage::kProjection, "projection"}, {EmbedStage::kEncoder, "encoder"});
SATCLIP_OPTION_NAMES(ProgressStyle, {ProgressStyle::kAuto, "auto"}, {ProgressStyle::kBar, "bar"},
                     {ProgressStyle::kLines, "lines"});

#undef SATCLIP_OPTION_NAMES

// The spelling of `value` ("?" for a value outside the table, which a cast could make).
template <typename E>
constexpr std::string_view option_name(E value) {
  for (const auto& n : OptionNames<E>::table) {
    if (n.value == value) return n.name;
  }
  return "?";
}

template <typename E>
std::string option_string(E value) {
  return std::string(option_name(value));
}

// The value spelt `text`, or nothing when no spelling matches exactly.
template <typename E>
constexpr std::optional<E> parse_option(std::string_view text) {
  for (const auto& n : OptionNames<E>::table) {
    if (n.name == text) return n.value;
  }
  return std::nullopt;
}

// "a, b, c": every spelling, for messages.
template <typename E>
std::string option_choices() {
  std::string out;
  for (const auto& n : OptionNames<E>::table) out += (out.empty() ? "" : ", ") + std::string(n.name);
  return out;
}

}  // namespace satclip
