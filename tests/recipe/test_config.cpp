// Recipe loading: values, overrides, and one clear line for each kind of error.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "core/base/text.h"
#include "core/recipe/config.h"
#include "core/recipe/embedded.h"
#include "core/recipe/recipe_fields.h"

namespace fs = std::filesystem;
using satclip::core::ConfigError;
using satclip::core::load_recipe;
using satclip::core::Recipe;

namespace {

// Writes `text` to a fresh file and returns its path.
std::string write_recipe(const std::string& name, const std::string& text) {
  const auto dir = fs::temp_directory_path() / ("satclip-config-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

// The ConfigError thrown by loading `text` (fails the test if none is thrown).
ConfigError error_of(const std::string& name, const std::string& text,
                     const std::vector<std::string>& overrides = {}) {
  const auto path = write_recipe(name, text);
  try {
    load_recipe(path, overrides);
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return ConfigError("", "", "");
}

const char* kMinimal = "data:\n  path: synthetic\n";

}  // namespace

TEST(Config, MinimalRecipeTakesDefaults) {
  const Recipe r = load_recipe(write_recipe("min.yaml", kMinimal));
  EXPECT_EQ(r.data.path, "synthetic");
  const Recipe defaults;
  EXPECT_EQ(r.data.batch_size, defaults.data.batch_size);
  EXPECT_EQ(r.model.geoclip_sigmas, defaults.model.geoclip_sigmas);
  EXPECT_EQ(r.loss.kind, satclip::LossKind::kSoftClip);
}

TEST(Config, ReadsEveryType) {
  const Recipe r = load_recipe(write_recipe("types.yaml",
      "run: {device: 'cuda:1', seed: 7}\n"
      "data:\n  path: /data/shards\n  batch_size: 64\n  val_fraction: 0.25\n  flips: no\n"
      "model:\n  geoclip_sigmas: [2, 32]\n  location_encoder: sh_siren\n"));
  EXPECT_EQ(r.run.device, "cuda:1");
  EXPECT_EQ(r.run.seed, 7);
  EXPECT_EQ(r.data.batch_size, 64);
  EXPECT_DOUBLE_EQ(r.data.val_fraction, 0.25);
  EXPECT_FALSE(r.data.flips);
  EXPECT_EQ(r.model.geoclip_sigmas, (std::vector<double>{2, 32}));
  EXPECT_EQ(r.model.location_encoder, satclip::LocationEncoderKind::kShSiren);
}

TEST(Config, OverridesApplyInOrderAndCreateSections) {
  const auto path = write_recipe("ovr.yaml", kMinimal);
  const Recipe r = load_recipe(path, {"data.batch_size=8", "train.epochs=2", "data.batch_size=16",
                                      "model.geoclip_sigmas=[1, 2, 4]"});
  EXPECT_EQ(r.data.batch_size, 16);
  EXPECT_EQ(r.train.epochs, 2);
  EXPECT_EQ(r.model.geoclip_sigmas.size(), 3u);
}

TEST(Config, UnknownKeyNamesKeyFileLineAndNearestKey) {
  const auto e = error_of("unknown.yaml", "data:\n  path: x\n  batchsize: 64\n");
  const std::string msg = e.message();
  EXPECT_NE(msg.find("unknown.yaml:3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'data.batchsize'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'data.batch_size'"), std::string::npos) << msg;
  EXPECT_EQ(e.key(), "data.batchsize");
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line expected: " << msg;
}

TEST(Config, UnknownSectionSuggestsNearestSection) {
  const auto e = error_of("section.yaml", std::string(kMinimal) + "trian:\n  epochs: 1\n");
  EXPECT_NE(e.message().find("section.yaml:3"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("did you mean 'train'"), std::string::npos) << e.message();
}

TEST(Config, WrongTypeNamesKeyAndExpectedType) {
  const auto e = error_of("type.yaml", std::string(kMinimal) + "train:\n  epochs: five\n");
  EXPECT_NE(e.message().find("type.yaml:4"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("'train.epochs' must be an integer, got 'five'"), std::string::npos)
      << e.message();
  const auto b = error_of("bool.yaml", std::string(kMinimal) + "  flips: maybe\n");
  EXPECT_NE(b.message().find("must be true or false"), std::string::npos) << b.message();
  const auto l = error_of("list.yaml", std::string(kMinimal) + "model:\n  geoclip_sigmas: 3\n");
  EXPECT_NE(l.message().find("must be a list of numbers"), std::string::npos) << l.message();
  // What C's strtod would also read: hexadecimal, inf, blanks inside quotes.
  const auto h = error_of("hex.yaml", std::string(kMinimal) + "optim:\n  lr_image: 0x1p-10\n");
  EXPECT_NE(h.message().find("'optim.lr_image' must be a number, got '0x1p-10'"), std::string::npos) << h.message();
  const auto i = error_of("hexint.yaml", std::string(kMinimal) + "  batch_size: 0x20\n");
  EXPECT_NE(i.message().find("'data.batch_size' must be an integer, got '0x20'"), std::string::npos) << i.message();
  const auto q = error_of("blank.yaml", std::string(kMinimal) + "loss:\n  temperature: ' 0.5'\n");
  EXPECT_NE(q.message().find("'loss.temperature' must be a number, got ' 0.5'"), std::string::npos) << q.message();
}

TEST(Config, OutOfRangeNamesKeyAndAllowedRange) {
  const auto e = error_of("range.yaml", "data:\n  path: x\n  val_fraction: 1.5\n");
  EXPECT_NE(e.message().find("range.yaml:3"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("'data.val_fraction' = 1.5"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("allowed: 0 .. 0.9"), std::string::npos) << e.message();
  const auto c = error_of("choice.yaml", "data:\n  path: x\nloss:\n  kind: triplet\n");
  EXPECT_NE(c.message().find("one of: soft_clip, info_nce"), std::string::npos) << c.message();
  const auto d = error_of("device.yaml", "data:\n  path: x\nrun:\n  device: gpu0\n");
  EXPECT_NE(d.message().find("auto, cpu, cuda or cuda:N"), std::string::npos) << d.message();
}

TEST(Config, MissingRequiredKeyNamesKeyAndFile) {
  const auto e = error_of("missing.yaml", "train:\n  epochs: 1\n");
  EXPECT_NE(e.message().find("missing.yaml"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("missing required key 'data.path'"), std::string::npos) << e.message();
  EXPECT_EQ(e.key(), "data.path");
}

TEST(Config, OverrideErrorsNameTheOverride) {
  const auto e = error_of("o.yaml", kMinimal, {"train.epochs=zero"});
  EXPECT_NE(e.message().find("--set train.epochs=zero"), std::string::npos) << e.message();
  const auto u = error_of("o2.yaml", kMinimal, {"train.epoch=3"});
  EXPECT_NE(u.message().find("did you mean 'train.epochs'"), std::string::npos) << u.message();
  const auto s = error_of("o3.yaml", kMinimal, {"noequals"});
  EXPECT_NE(s.message().find("expected key.path=value"), std::string::npos) << s.message();
}

TEST(Config, SyntaxErrorGivesLineAndColumn) {
  const auto e = error_of("syntax.yaml", "data:\n  path: [unclosed\n");
  EXPECT_NE(e.message().find("syntax.yaml:"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("YAML syntax error"), std::string::npos) << e.message();
}

TEST(Config, SectionMustBeMapping) {
  const auto e = error_of("sec.yaml", "data: 5\n");
  EXPECT_NE(e.message().find("'data' must be a section of keys, got '5'"), std::string::npos) << e.message();
  const auto l = error_of("seclist.yaml", "data:\n  path: x\ntrain: [1, 2]\n");
  EXPECT_NE(l.message().find("seclist.yaml:3: 'train' must be a section of keys, got a list"), std::string::npos)
      << l.message();
  // A section whose keys are all commented out is an empty section, not an error.
  const auto r = load_recipe(write_recipe("empty-section.yaml", "data:\n  path: x\ntrain:\n#  epochs: 3\n"));
  EXPECT_EQ(r.train.epochs, Recipe().train.epochs);
}

TEST(Config, AnEmptyValueIsNamedOnItsKeysLine) {
  const auto e = error_of("empty.yaml", "data:\n  path: x\ntrain:\n  epochs:\n");
  EXPECT_NE(e.message().find("empty.yaml:4: 'train.epochs' must be an integer"), std::string::npos) << e.message();
  // A file or folder name may not be empty: it would name nothing, or the working folder.
  const auto p = error_of("nopath.yaml", "data:\n  path: ''\n");
  EXPECT_NE(p.message().find("nopath.yaml:2: 'data.path' = \"\" is not allowed"), std::string::npos) << p.message();
  const auto o = error_of("nodir.yaml", std::string(kMinimal) + "output:\n  dir:\n");
  EXPECT_NE(o.message().find("nodir.yaml:4: 'output.dir' = \"\" is not allowed"), std::string::npos) << o.message();
}

TEST(Config, ASecondYamlDocumentIsRefused) {
  // yaml-cpp's Load reads the first document only: data.path would have been x, silently.
  const auto e = error_of("docs.yaml", "data:\n  path: x\n---\ndata:\n  path: y\n");
  EXPECT_NE(e.message().find("docs.yaml:4: another YAML document (after '---')"), std::string::npos) << e.message();
  // Document markers around one document, and a trailing '---' (an empty document), are fine.
  EXPECT_EQ(load_recipe(write_recipe("marked.yaml", "---\ndata:\n  path: x\n...\n")).data.path, "x");
  EXPECT_EQ(load_recipe(write_recipe("trailing.yaml", "data:\n  path: x\n---\n")).data.path, "x");
  // A lone ',' made yaml-cpp's LoadAll return empty documents forever (found by fuzz_recipe).
  const auto c = error_of("comma.yaml", ",");
  EXPECT_NE(c.message().find("missing required key 'data.path'"), std::string::npos) << c.message();
}

TEST(Config, AKeyOrSectionWrittenTwiceIsRefusedWithBothLines) {
  // yaml-cpp would keep the last of the two: batch_size 5, silently.
  const auto k = error_of("twice.yaml", "data:\n  path: x\n  batch_size: 3\n  batch_size: 5\n");
  EXPECT_NE(k.message().find("twice.yaml:4: key 'data.batch_size' appears a second time (first at line 3)"),
            std::string::npos) << k.message();
  EXPECT_EQ(k.key(), "data.batch_size");
  const auto s = error_of("sections.yaml", "data:\n  path: x\ntrain:\n  epochs: 2\ndata:\n  batch_size: 4\n");
  EXPECT_NE(s.message().find("sections.yaml:5: section 'data' appears a second time (first at line 1)"),
            std::string::npos) << s.message();
  EXPECT_NE(s.hint().find("merge the two 'data:' sections"), std::string::npos) << s.hint();
  // An override sets the first of the two, which the second would then undo: refused the same way.
  const auto o = error_of("override.yaml", "data:\n  path: x\n  batch_size: 3\n  batch_size: 5\n",
                          {"data.batch_size=7"});
  EXPECT_NE(o.message().find("override.yaml:4: key 'data.batch_size' appears a second time"), std::string::npos)
      << o.message();
}

TEST(Config, MissingFileIsClear) {
  try {
    load_recipe("/nonexistent/recipe.yaml");
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(e.message().find("/nonexistent/recipe.yaml: cannot open"), std::string::npos);
    EXPECT_FALSE(e.hint().empty());
  }
}

TEST(Config, ResolvedYamlRoundTrips) {
  const Recipe a = load_recipe(write_recipe("rt.yaml", kMinimal),
                               {"data.batch_size=12", "model.geoclip_sigmas=[3, 5]", "run.name=x y"});
  const auto text = satclip::core::recipe_to_yaml(a);
  const Recipe b = load_recipe(write_recipe("rt2.yaml", text));
  EXPECT_EQ(satclip::core::recipe_to_yaml(b), text);
  EXPECT_EQ(b.data.batch_size, 12);
  EXPECT_EQ(b.run.name, "x y");
  EXPECT_NE(satclip::core::recipe_table(b).find("data.batch_size"), std::string::npos);
}

TEST(Config, NumbersAreWrittenInTheFewestDigitsThatReadBackExactly) {
  // 0.1 as 0.1 (yaml-cpp alone writes 0.10000000000000001), and 0.1 + 0.2 with all 17 digits.
  const Recipe a = load_recipe(write_recipe("num.yaml", kMinimal),
                               {"loss.temperature=0.30000000000000004", "model.geoclip_sigmas=[1e-05, 2.5]"});
  const auto text = satclip::core::recipe_to_yaml(a);
  EXPECT_NE(text.find("val_fraction: 0.1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("temperature: 0.30000000000000004\n"), std::string::npos) << text;
  EXPECT_NE(text.find("beta1: 0.9\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lr_image: 1.0e-05\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("0000000000"), text.find("0.30000000000000004") + 3) << "one long number only:\n" << text;
  EXPECT_NE(satclip::core::recipe_table(a).find("optim.beta1                    0.9\n"), std::string::npos);
  const Recipe b = load_recipe(write_recipe("num2.yaml", text));
  EXPECT_EQ(b.loss.temperature, 0.1 + 0.2);
  EXPECT_EQ(b.data.val_fraction, 0.1);
  EXPECT_EQ(b.model.geoclip_sigmas, (std::vector<double>{1e-05, 2.5}));
}

TEST(Config, IdentityChangesIgnoreAnEarlierBuildsNumberFormat) {
  // A checkpoint's recipe.yaml from a build that wrote 17 digits: the same values are no change
  // (resume goes on), another value is one line.
  using satclip::core::recipe_identity_changes;
  const Recipe now = satclip::core::load_recipe_text("data:\n  path: synthetic\n  val_fraction: 0.1\n", "now");
  const std::string then = "data:\n  path: synthetic\n  val_fraction: 0.10000000000000001\n"
                           "loss:\n  temperature: 1\n  logit_scale_init: 2.6592600369327779\n";
  EXPECT_TRUE(recipe_identity_changes(now, then, "then").empty());
  const auto changes = recipe_identity_changes(now, "data:\n  path: synthetic\n  val_fraction: 0.2\n", "then");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], "data.val_fraction: 0.2 -> 0.1");
}

// Every named choice of every key loads into a distinct value and is written back with the
// spelling it was given; a spelling in another case is refused.
TEST(Config, EveryNamedChoiceLoadsAndSavesItsSpelling) {
  const auto path = write_recipe("choices.yaml", kMinimal);
  Recipe schema;
  int keys = 0, choices = 0;
  for (const auto& spec : satclip::core::recipe_fields(schema)) {
    const std::string prefix = "one of: ";
    if (!satclip::starts_with(spec.allowed, prefix)) continue;
    ++keys;
    std::vector<std::string> names;
    std::stringstream list(spec.allowed.substr(prefix.size()));
    for (std::string name; std::getline(list, name, ',');) names.push_back(name.substr(name.find_first_not_of(' ')));
    ASSERT_GE(names.size(), 2u) << spec.path;
    std::set<std::string> saved;
    for (const auto& name : names) {
      Recipe r = load_recipe(path, {spec.path + "=" + name});
      for (const auto& f : satclip::core::recipe_fields(r)) {
        if (f.path == spec.path) {
          EXPECT_EQ(f.value().as<std::string>(), name) << spec.path;
        }
      }
      saved.insert(satclip::core::recipe_to_yaml(r));
      ++choices;
    }
    EXPECT_EQ(saved.size(), names.size()) << spec.path << ": two spellings load the same recipe";
    std::string upper = names.back();
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto e = error_of("choices-bad.yaml", kMinimal, {spec.path + "=" + upper});
    EXPECT_NE(e.message().find(spec.path), std::string::npos) << e.message();
  }
  EXPECT_EQ(keys, 16);  // run.log_level and the 15 keys typed by the enums of core/base/options.h
  EXPECT_EQ(choices, 45);
}

TEST(Config, WorkersTakeAutoOrACount) {
  EXPECT_EQ(Recipe().data.workers, satclip::core::kAuto);  // the default
  const auto path = write_recipe("workers.yaml", kMinimal);
  EXPECT_EQ(load_recipe(path, {"data.workers=3"}).data.workers, 3);
  const Recipe a = load_recipe(path, {"data.workers=3", "data.workers=auto"});
  EXPECT_EQ(a.data.workers, satclip::core::kAuto);
  EXPECT_NE(satclip::core::recipe_to_yaml(a).find("workers: auto"), std::string::npos);
  for (const char* bad : {"data.workers=0", "data.workers=65", "data.workers=many"}) {
    const auto e = error_of("workers-bad.yaml", kMinimal, {bad});
    EXPECT_NE(e.message().find("data.workers"), std::string::npos) << bad;
    EXPECT_NE(e.message().find("auto"), std::string::npos) << bad << ": " << e.message();
  }
}

TEST(Config, FeatureCacheTakesOffAutoOrADirectoryButNoOtherBoolean) {
  // YAML reads `feature_cache: on` as a boolean; taken for a folder named "on" in the working
  // folder, it would cache somewhere nobody looks. Refused, naming the choices.
  const auto path = write_recipe("cache.yaml", kMinimal);
  EXPECT_EQ(load_recipe(path, {"data.feature_cache=auto"}).data.feature_cache, "auto");
  EXPECT_EQ(load_recipe(path, {"data.feature_cache=off"}).data.feature_cache, "off");
  EXPECT_EQ(load_recipe(path, {"data.feature_cache=/tmp/cache"}).data.feature_cache, "/tmp/cache");
  for (const char* bad : {"data.feature_cache=on", "data.feature_cache=true", "data.feature_cache=yes",
                          "data.feature_cache=False"}) {
    const auto e = error_of("cache-bad.yaml", kMinimal, {bad});
    EXPECT_NE(e.message().find("off, auto or a directory"), std::string::npos) << bad << ": " << e.message();
  }
  const auto y = error_of("cache-yaml.yaml", "data:\n  path: synthetic\n  feature_cache: on\n");
  EXPECT_NE(y.message().find("cache-yaml.yaml:3"), std::string::npos) << y.message();
}

TEST(Config, ShippedRecipesLoad) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(SATCLIP_SOURCE_DIR) / "recipes")) {
    if (entry.path().extension() != ".yaml") continue;
    EXPECT_NO_THROW(load_recipe(entry.path().string())) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 1);
}

TEST(Config, NearestKeyIgnoresFarOffNames) {
  EXPECT_EQ(satclip::core::nearest_key("zzzzzzzz", {"data.path", "train.epochs"}), "");
  EXPECT_EQ(satclip::core::nearest_key("data.pth", {"data.path", "train.epochs"}), "data.path");
}

TEST(Config, RecipesReadmeListsEveryKeyAsTheCodeDoes) {
  std::ifstream in(fs::path(SATCLIP_SOURCE_DIR) / "recipes" / "README.md");
  const std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(readme.find(satclip::core::recipe_keys_markdown()), std::string::npos)
      << "regenerate the table: build/core/apps/satclip-recipe keys";
}

// satclip-ddp without RECIPE.yaml trains the embedded recipe: recipes/quickstart.yaml, key for key.
TEST(Config, EmbeddedDefaultIsTheQuickstartRecipe) {
  const Recipe embedded = satclip::core::load_recipe_text(satclip::core::kEmbeddedQuickstart, "embedded");
  const Recipe file = load_recipe((fs::path(SATCLIP_SOURCE_DIR) / "recipes" / "quickstart.yaml").string());
  EXPECT_EQ(embedded.run.name, "quickstart");
  EXPECT_EQ(embedded.data.path, "synthetic");
  EXPECT_EQ(satclip::core::recipe_to_yaml(embedded), satclip::core::recipe_to_yaml(file));
}
