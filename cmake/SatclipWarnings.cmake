# One place that turns warnings on for the project's own targets (third-party headers are
# included as SYSTEM by their imported targets, so they stay quiet).
include_guard(GLOBAL)

function(satclip_enable_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
endfunction()
