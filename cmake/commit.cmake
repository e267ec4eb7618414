# Run at every build (the qbench_commit target): writes ${OUT}, the commit the sources are at,
# with "+dirty.<hash>" where tracked files differ from it (the hash of `git diff HEAD`), so that
# `qbench --version`, results.json and compare's cache keys name the code that was built, not the
# commit of the last `cmake` configure. The file is rewritten only when that changes, so an
# unchanged tree recompiles nothing.
execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT commit)
  set(commit unknown)
else()
  execute_process(COMMAND git diff HEAD --no-ext-diff WORKING_DIRECTORY ${SRC}
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
