# Resolution of the AUTO/ON/OFF feature switches and the one-line summary per feature.
include_guard(GLOBAL)

# satclip_feature(NAME FOUND HINT)
#   Reads SATCLIP_WITH_<NAME> (AUTO, ON or OFF), sets SATCLIP_HAVE_<NAME> in the caller's scope,
#   prints one found/not-found line, and stops with HINT when ON was asked for but FOUND is false.
function(satclip_feature name found hint)
  string(TOUPPER "${SATCLIP_WITH_${name}}" want)
  if(want STREQUAL "")
    set(want AUTO)
  endif()
  if(NOT want MATCHES "^(AUTO|ON|OFF|TRUE|FALSE|YES|NO|1|0)$")
    message(FATAL_ERROR "SATCLIP_WITH_${name}=${SATCLIP_WITH_${name}} is not one of AUTO, ON, OFF.\n"
                        "HINT: pass -DSATCLIP_WITH_${name}=AUTO (the default), ON or OFF.")
  endif()
  if(want MATCHES "^(OFF|FALSE|NO|0)$")
    set(have OFF)
    set(why "disabled by SATCLIP_WITH_${name}=OFF")
  elseif(found)
    set(have ON)
    set(why "found")
  elseif(want STREQUAL "AUTO")
    set(have OFF)
    set(why "not found (${hint})")
  else()
    message(FATAL_ERROR "SATCLIP_WITH_${name}=${want} but ${name} was not found.\nHINT: ${hint}")
  endif()
  set(SATCLIP_HAVE_${name} ${have} PARENT_SCOPE)
  set_property(GLOBAL APPEND PROPERTY SATCLIP_SUMMARY "${name}: ${have} (${why})")
  message(STATUS "satclip: ${name} ${have} - ${why}")
endfunction()

# Prints the collected feature lines once more at the end of configuration.
function(satclip_summary)
  get_property(lines GLOBAL PROPERTY SATCLIP_SUMMARY)
  message(STATUS "satclip: ---- configuration summary ----")
  foreach(l IN LISTS lines)
    message(STATUS "satclip:   ${l}")
  endforeach()
endfunction()

