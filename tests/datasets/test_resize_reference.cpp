// data.crop: resize equals torchvision's Resize on tensors (bilinear with antialiasing when
// shrinking), on the CPU: 256 -> 224, 64 -> 56, 37 -> 29 and an upsizing 48 -> 64.
#include <gtest/gtest.h>

#include "support/resize_check.h"

TEST(Resize, MatchesTorchvisionOnTheCpu) {
  satclip::testing::expect_resize_matches_torchvision(SATCLIP_RESIZE_DIR, torch::kCPU);
}
