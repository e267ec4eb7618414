# Run at every build (the qbench_commit target): writes ${OUT}, the commit the sources are at,
# with "+dirty.<hash>" where tracked sources (src/, cmake/, CMakeLists.txt) differ from it (a hash
# of that `git diff HEAD`; documentation and tests do not change the binary), so that
# `qbench --version`, results.json and compare's cache keys name the code that was built, not the
# commit of the last `cmake` configure. The file is rewritten only when that changes, so an
# unchanged tree recompiles nothing.
execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT commit)
  set(commit unknown)
else()
  execute_process(COMMAND git diff HEAD --no-ext-diff -- src cmake CMakeLists.txt
                  WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE diff ERROR_QUIET)
  if(diff)
    string(SHA256 h "${diff}")
    string(SUBSTRING "${h}" 0 8 h)
    set(commit "${commit}+dirty.${h}")
  endif()
endif()
file(WRITE ${OUT}.tmp "#define QBENCH_GIT_COMMIT \"${commit}\"\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
