#include "core/recipe/recipe_fields.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "core/base/text.h"

namespace satclip::core {
namespace {

std::string text_of(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

std::string fmt_num(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

int64_t parse_int(const YAML::Node& n) {
  if (!n.IsScalar()) throw FieldError(FieldError::Kind::kType, text_of(n));
  int64_t v = 0;
  if (!parse_integer(n.Scalar(), v)) throw FieldError(FieldError::Kind::kType, n.Scalar());
  return v;
}

double parse_num(const YAML::Node& n) {
  if (!n.IsScalar()) throw FieldError(FieldError::Kind::kType, text_of(n));
  double v = 0;
  if (!parse_decimal(n.Scalar(), v)) throw FieldError(FieldError::Kind::kType, n.Scalar());
  return v;
}

FieldSpec int_field(const std::string& path, int64_t& ref, int64_t lo, int64_t hi) {
  FieldSpec f;
  f.path = path;
  f.type = "an integer";
  f.allowed = std::to_string(lo) + " .. " + std::to_string(hi);
  f.assign = [&ref, lo, hi](const YAML::Node& n) {
    const int64_t v = parse_int(n);
    if (v < lo || v > hi) throw FieldError(FieldError::Kind::kRange, n.Scalar());
    ref = v;
  };
  f.value = [&ref] { return YAML::Node(ref); };
  return f;
}

// An integer in lo .. hi, or `auto` (stored as kAuto).
FieldSpec int_or_auto_field(const std::string& path, int64_t& ref, int64_t lo, int64_t hi) {
  FieldSpec f = int_field(path, ref, lo, hi);
  f.type = "an integer or auto";
  f.allowed = "auto, or " + f.allowed;
  const auto plain = f.assign;
  f.assign = [&ref, plain](const YAML::Node& n) {
    if (n.IsScalar() && n.Scalar() == "auto") {
      ref = kAuto;
    } else {
      plain(n);
    }
  };
  f.value = [&ref] { return ref == kAuto ? YAML::Node("auto") : YAML::Node(ref); };
  return f;
}

FieldSpec num_field(const std::string& path, double& ref, double lo, double hi, bool lo_open = false) {
  FieldSpec f;
  f.path = path;
  f.type = "a number";
  f.allowed = (lo_open ? "> " + fmt_num(lo) + " and <= " : fmt_num(lo) + " .. ") + fmt_num(hi);
  f.assign = [&ref, lo, hi, lo_open](const YAML::Node& n) {
    const double v = parse_num(n);
    if (v < lo || v > hi || (lo_open && v == lo)) throw FieldError(FieldError::Kind::kRange, n.Scalar());
    ref = v;
  };
  f.value = [&ref] { return YAML::Node(round_trip_number(ref)); };  // 0.1, not 0.10000000000000001
  return f;
}

FieldSpec bool_field(const std::string& path, bool& ref) {
  FieldSpec f;
  f.path = path;
  f.type = "true or false";
  f.assign = [&ref](const YAML::Node& n) {
    if (!n.IsScalar()) throw FieldError(FieldError::Kind::kType, text_of(n));
    std::string s = n.Scalar();
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == "true" || s == "yes" || s == "on") {
      ref = true;
    } else if (s == "false" || s == "no" || s == "off") {
      ref = false;
    } else {
      throw FieldError(FieldError::Kind::kType, n.Scalar());
    }
  };
  f.value = [&ref] { return YAML::Node(ref); };
  return f;
}

FieldSpec str_field(const std::string& path, std::string& ref, bool required = false) {
  FieldSpec f;
  f.path = path;
  f.type = "a string";
  f.required = required;
  f.assign = [&ref](const YAML::Node& n) {
    if (!n.IsScalar() && !n.IsNull()) throw FieldError(FieldError::Kind::kType, text_of(n));
    ref = n.IsNull() ? std::string() : n.Scalar();
  };
  f.value = [&ref] { return YAML::Node(ref); };
  return f;
}

// One of a fixed set of strings, without storing the string (run.log_level, handed to spdlog).
FieldSpec choice_field(const std::string& path, std::string& ref, std::vector<std::string> choices) {
  FieldSpec f = str_field(path, ref);
  f.allowed = "one of:";
  for (size_t i = 0; i < choices.size(); ++i) f.allowed += (i ? ", " : " ") + choices[i];
  f.assign = [&ref, choices](const YAML::Node& n) {
    if (!n.IsScalar()) throw FieldError(FieldError::Kind::kType, text_of(n));
    for (const auto& c : choices) {
      if (n.Scalar() == c) {
        ref = c;
        return;
      }
    }
    throw FieldError(FieldError::Kind::kRange, n.Scalar());
  };
  return f;
}

// A named choice, parsed into its enum here and nowhere else (core/base/options.h).
template <typename E>
FieldSpec enum_field(const std::string& path, E& ref) {
  FieldSpec f;
  f.path = path;
  f.type = "a string";
  f.allowed = "one of: " + option_choices<E>();
  f.assign = [&ref](const YAML::Node& n) {
    if (!n.IsScalar()) throw FieldError(FieldError::Kind::kType, text_of(n));
    const auto v = parse_option<E>(n.Scalar());
    if (!v) throw FieldError(FieldError::Kind::kRange, n.Scalar());
    ref = *v;
  };
  f.value = [&ref] { return YAML::Node(option_string(ref)); };
  return f;
}

FieldSpec device_field(const std::string& path, std::string& ref) {
  FieldSpec f = str_field(path, ref);
  f.allowed = "auto, cpu, cuda or cuda:N";
  f.assign = [&ref](const YAML::Node& n) {
    if (!n.IsScalar()) throw FieldError(FieldError::Kind::kType, text_of(n));
    const std::string& s = n.Scalar();
    bool ok = s == "auto" || s == "cpu" || s == "cuda";
    if (!ok && starts_with(s, "cuda:") && s.size() > 5) {
      ok = s.find_first_not_of("0123456789", 5) == std::string::npos;
    }
    if (!ok) throw FieldError(FieldError::Kind::kRange, s);
    ref = s;
  };
  return f;
}

FieldSpec num_list_field(const std::string& path, std::vector<double>& ref, double lo, double hi) {
  FieldSpec f;
  f.path = path;
  f.type = "a list of numbers";
  f.allowed = "1 to 16 values, each > " + fmt_num(lo) + " and <= " + fmt_num(hi);
  f.assign = [&ref, lo, hi](const YAML::Node& n) {
    if (!n.IsSequence()) throw FieldError(FieldError::Kind::kType, text_of(n));
    std::vector<double> out;
    for (const auto& item : n) out.push_back(parse_num(item));
    if (out.empty() || out.size() > 16) throw FieldError(FieldError::Kind::kRange, std::to_string(out.size()) + " values");
    for (double v : out) {
      if (v <= lo || v > hi) throw FieldError(FieldError::Kind::kRange, fmt_num(v));
    }
    ref = out;
  };
  f.value = [&ref] {
    YAML::Node n(YAML::NodeType::Sequence);
    for (double v : ref) n.push_back(round_trip_number(v));
    return n;
  };
  return f;
}

FieldSpec described(FieldSpec f, const std::string& allowed) {
  f.allowed = allowed;
  return f;
}

// A string that names a file or folder: an empty one would name nothing (or the working folder).
FieldSpec path_field(const std::string& path, std::string& ref, const std::string& allowed, bool required = false) {
  FieldSpec f = described(str_field(path, ref, required), allowed + " (not empty)");
  f.assign = [&ref](const YAML::Node& n) {
    if (!n.IsScalar() && !n.IsNull()) throw FieldError(FieldError::Kind::kType, text_of(n));
    if (n.IsNull() || n.Scalar().empty()) throw FieldError(FieldError::Kind::kRange, "\"\"");
    ref = n.Scalar();
  };
  return f;
}

// data.feature_cache: off, auto or a directory. YAML's other booleans (on, true, yes, false, no)
// are refused rather than taken for a directory of that name in the working folder.
FieldSpec feature_cache_field(const std::string& path, std::string& ref) {
  FieldSpec f = described(str_field(path, ref), "off, auto or a directory (on, true, yes, false and no are not)");
  f.assign = [&ref](const YAML::Node& n) {
    if (!n.IsScalar()) throw FieldError(FieldError::Kind::kType, text_of(n));
    const std::string& s = n.Scalar();
    for (const char* word : {"on", "true", "yes", "false", "no", "On", "True", "Yes", "False", "No", "ON", "TRUE",
                             "YES", "FALSE", "NO"}) {
      if (s == word) throw FieldError(FieldError::Kind::kRange, s);
    }
    ref = s;
  };
  return f;
}

}  // namespace

std::vector<FieldSpec> recipe_fields(Recipe& r) {
  constexpr int64_t kBig = std::numeric_limits<int32_t>::max();
  return {
      str_field("run.name", r.run.name),
      int_field("run.seed", r.run.seed, 0, kBig),
      device_field("run.device", r.run.device),
      choice_field("run.log_level", r.run.log_level, {"trace", "debug", "info", "warn", "error"}),

      path_field("data.path", r.data.path, "a shard directory with manifest.json, or synthetic", /*required=*/true),
      bool_field("data.verify", r.data.verify),
      int_field("data.synthetic_count", r.data.synthetic_count, 16, 10'000'000),
      int_field("data.synthetic_size", r.data.synthetic_size, 8, 1024),
      num_field("data.val_fraction", r.data.val_fraction, 0.0, 0.9),
      int_field("data.split_seed", r.data.split_seed, 0, kBig),
      int_field("data.batch_size", r.data.batch_size, 1, 65536),
      int_field("data.global_batch_size", r.data.global_batch_size, 0, 1 << 24),
      int_or_auto_field("data.workers", r.data.workers, 1, 64),
      int_or_auto_field("data.prefetch", r.data.prefetch, 1, 256),
      bool_field("data.drop_last", r.data.drop_last),
      int_field("data.image_size", r.data.image_size, 8, 1024),
      enum_field("data.scaling", r.data.scaling),
      enum_field("data.band_layout", r.data.band_layout),
      enum_field("data.crop", r.data.crop),
      bool_field("data.flips", r.data.flips),
      num_field("data.coord_jitter_deg", r.data.coord_jitter_deg, 0.0, 1.0),
      feature_cache_field("data.feature_cache", r.data.feature_cache),
      int_field("data.feature_cache_views", r.data.feature_cache_views, 1, 64),

      enum_field("model.image_encoder", r.model.image_encoder),
      int_field("model.in_bands", r.model.in_bands, 1, 64),
      str_field("model.image_weights", r.model.image_weights),
      bool_field("model.freeze_image_encoder", r.model.freeze_image_encoder),
      enum_field("model.location_encoder", r.model.location_encoder),
      num_list_field("model.geoclip_sigmas", r.model.geoclip_sigmas, 0.0, 1e6),
      bool_field("model.train_rff", r.model.train_rff),
      str_field("model.location_weights", r.model.location_weights),
      int_field("model.sh_degree", r.model.sh_degree, 1, 100),
      enum_field("model.harmonics", r.model.harmonics),
      int_field("model.siren_hidden", r.model.siren_hidden, 8, 8192),
      int_field("model.siren_layers", r.model.siren_layers, 1, 16),
      enum_field("model.projection", r.model.projection),
      int_field("model.embed_dim", r.model.embed_dim, 8, 8192),
      num_field("model.dropout", r.model.dropout, 0.0, 0.99),
      str_field("model.weights", r.model.weights),
      bool_field("model.strict_weights", r.model.strict_weights),

      enum_field("loss.kind", r.loss.kind),
      num_field("loss.temperature", r.loss.temperature, 0.0, 100.0, /*lo_open=*/true),
      bool_field("loss.local", r.loss.local),
      num_field("loss.logit_scale_init", r.loss.logit_scale_init, 0.0, 10.0),
      bool_field("loss.gather", r.loss.gather),

      num_field("optim.lr_image", r.optim.lr_image, 0.0, 10.0),
      num_field("optim.lr_location", r.optim.lr_location, 0.0, 10.0),
      num_field("optim.lr_projection", r.optim.lr_projection, 0.0, 10.0),
      num_field("optim.weight_decay", r.optim.weight_decay, 0.0, 10.0),
      num_field("optim.projection_weight_decay", r.optim.projection_weight_decay, 0.0, 10.0),
      num_field("optim.beta1", r.optim.beta1, 0.0, 0.999999),
      num_field("optim.beta2", r.optim.beta2, 0.0, 0.999999),
      num_field("optim.eps", r.optim.eps, 0.0, 1.0, /*lo_open=*/true),
      enum_field("optim.scheduler", r.optim.scheduler),
      int_field("optim.plateau_patience", r.optim.plateau_patience, 0, 1000),
      num_field("optim.plateau_factor", r.optim.plateau_factor, 0.0, 1.0, /*lo_open=*/true),
      int_field("optim.warmup_steps", r.optim.warmup_steps, 0, kBig),
      num_field("optim.clip_norm", r.optim.clip_norm, 0.0, 1e6),
      enum_field("optim.fused", r.optim.fused),

      int_field("train.epochs", r.train.epochs, 1, 100000),
      int_field("train.max_steps", r.train.max_steps, 0, kBig),
      int_field("train.grad_accum", r.train.grad_accum, 1, 1024),
      enum_field("train.precision", r.train.precision),
      int_field("train.log_every", r.train.log_every, 1, kBig),
      int_field("train.val_every_epochs", r.train.val_every_epochs, 1, 100000),
      int_field("train.val_every_steps", r.train.val_every_steps, 0, kBig),
      str_field("train.val_gallery", r.train.val_gallery),
      enum_field("train.nonfinite", r.train.nonfinite),
      enum_field("train.host_sync", r.train.host_sync),
      bool_field("train.allow_tf32", r.train.allow_tf32),
      bool_field("train.deterministic", r.train.deterministic),
      enum_field("train.channels_last", r.train.channels_last),
      bool_field("train.cuda_graphs", r.train.cuda_graphs),
      bool_field("train.tensorboard", r.train.tensorboard),

      enum_field("distributed.backend", r.distributed.backend),
      num_field("distributed.first_bucket_mb", r.distributed.first_bucket_mb, 0.0, 4096.0, true),
      num_field("distributed.bucket_mb", r.distributed.bucket_mb, 0.0, 4096.0, true),
      num_field("distributed.timeout_s", r.distributed.timeout_s, 1.0, 86400.0),

      int_field("checkpoint.every_steps", r.checkpoint.every_steps, 0, kBig),
      int_field("checkpoint.every_epochs", r.checkpoint.every_epochs, 0, 100000),
      int_field("checkpoint.keep", r.checkpoint.keep, 1, 1000),

      path_field("output.dir", r.output.dir, "a folder"),
  };
}

}  // namespace satclip::core
