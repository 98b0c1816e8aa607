# Test registration helpers: every test is a GoogleTest executable registered with ctest.
#   satclip_add_test(NAME SOURCES ... [LIBS ...] [LABELS ...] [NO_TORCH])  single-process test
#     (NO_TORCH: the test uses no torch header, so it gets no precompiled torch header)
#   satclip_add_mpi_test(TARGET NP [LABELS ...])  runs TARGET under `mpiexec -n NP` (label mpi)
include_guard(GLOBAL)
find_package(GTest REQUIRED)

# Open MPI refuses to run as root and to start more ranks than cores unless told; containers
# without ptrace permission need the copy-in/copy-out shared-memory path.
set(SATCLIP_MPI_TEST_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1"
  "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
  "OMPI_MCA_rmaps_base_oversubscribe=1"
  "OMPI_MCA_btl_vader_single_copy_mechanism=none"
  "OMP_NUM_THREADS=1")

function(satclip_add_test name)
  cmake_parse_arguments(A "NO_TORCH" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS} satclip_test_main GTest::gtest)
  satclip_target(${name})
  if(NOT A_NO_TORCH)
    satclip_use_torch_pch(${name})
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set(labels ${A_LABELS})
  if(NOT labels)
    set(labels unit)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 300
                       ENVIRONMENT "${SATCLIP_MPI_TEST_ENV}")
endfunction()

function(satclip_add_mpi_test target np)
  cmake_parse_arguments(A "" "" "LABELS" ${ARGN})
  set(name ${target}_np${np})
  add_test(NAME ${name}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${MPIEXEC_PREFLAGS}
                   $<TARGET_FILE:${target}> ${MPIEXEC_POSTFLAGS})
  set(labels mpi ${A_LABELS})
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" PROCESSORS ${np} TIMEOUT 300
                       ENVIRONMENT "${SATCLIP_MPI_TEST_ENV}")
endfunction()
