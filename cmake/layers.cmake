# The layers of qbench, each a static library built from whole directories of src/, declared
# once with qbench_layer(). One declaration gives the library, its links and what its sources
# may include, so the rule and the diagram (layers.md, docs/architecture.md) cannot drift.
#
# A layer's sources compile against an include root of its own, ${CMAKE_BINARY_DIR}/layers/NAME,
# holding links to its own directories and to those of every layer below it (its DEPS,
# transitively), and nothing else: an #include of a layer above, or of one beside it, is a
# compile error ("No such file or directory"), not a link error or a silent back-edge. A layer
# may only name layers declared before it, so the graph is a DAG by construction.

set(QBENCH_LAYERS_DIR ${CMAKE_BINARY_DIR}/layers)
file(REMOVE_RECURSE ${QBENCH_LAYERS_DIR})
set_property(GLOBAL PROPERTY QBENCH_LAYERS "")

# Makes ROOT/DIR show src/DIR. A directory without subdirectories is linked whole; one with
# subdirectories (src/kernels holds kernels/ref and kernels/onednn, which are other layers' or
# the same layer's) becomes a real directory with a link per file, its subdirectories linked
# only where the layer may see them.
function(_qbench_link_dir root dir)
  set(src ${CMAKE_SOURCE_DIR}/src/${dir})
  get_filename_component(parent ${root}/${dir} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  file(GLOB entries LIST_DIRECTORIES true ${src}/*)
  set(has_subdirs FALSE)
  foreach(e ${entries})
    if(IS_DIRECTORY ${e})
      set(has_subdirs TRUE)
    endif()
  endforeach()
  if(NOT has_subdirs)
    file(CREATE_LINK ${src} ${root}/${dir} SYMBOLIC)
    return()
  endif()
  file(MAKE_DIRECTORY ${root}/${dir})
  # CONFIGURE_DEPENDS: a header added later re-runs CMake, which links it.
  file(GLOB files LIST_DIRECTORIES false CONFIGURE_DEPENDS ${src}/*)
  foreach(f ${files})
    get_filename_component(name ${f} NAME)
    file(CREATE_LINK ${f} ${root}/${dir}/${name} SYMBOLIC)
  endforeach()
endfunction()

# qbench_layer(NAME DIRS dir... [DEPS layer...] [LIBS target...] [OPTIONAL_LIBS target...]
#              [EXCLUDE file...])
# Builds qbench_NAME from src/DIR/*.cpp of each DIRS entry (minus EXCLUDE, paths under src/),
# links it to the qbench_ layers in DEPS, to the external LIBS and to each OPTIONAL_LIBS target
# that exists in this configuration (the diagram lists them either way), and gives its sources the
# include root of DIRS plus everything DEPS may see.
function(qbench_layer name)
  cmake_parse_arguments(L "" "" "DIRS;DEPS;LIBS;OPTIONAL_LIBS;EXCLUDE" ${ARGN})
  get_property(declared GLOBAL PROPERTY QBENCH_LAYERS)
  if(name IN_LIST declared)
    message(FATAL_ERROR "qbench_layer(${name}): declared twice")
  endif()
  set(sources "")
  foreach(dir ${L_DIRS})
    file(GLOB dir_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${dir}/*.cpp)
    list(APPEND sources ${dir_sources})
  endforeach()
  foreach(ex ${L_EXCLUDE})
    list(REMOVE_ITEM sources ${CMAKE_SOURCE_DIR}/src/${ex})
  endforeach()
  set(sees ${L_DIRS})
  set(dep_targets "")
  foreach(dep ${L_DEPS})
    if(NOT dep IN_LIST declared)
      message(FATAL_ERROR "qbench_layer(${name}): DEPS names '${dep}', which is not a layer "
                          "declared before it (layers may only use layers below them)")
    endif()
    get_property(dep_sees GLOBAL PROPERTY QBENCH_LAYER_SEES_${dep})
    list(APPEND sees ${dep_sees})
    list(APPEND dep_targets qbench_${dep})
  endforeach()
  list(REMOVE_DUPLICATES sees)
  list(SORT sees)

  add_library(qbench_${name} STATIC ${sources})
  target_link_libraries(qbench_${name} PUBLIC ${dep_targets} ${L_LIBS})
  foreach(lib ${L_OPTIONAL_LIBS})
    if(TARGET ${lib})
      target_link_libraries(qbench_${name} PUBLIC ${lib})
    endif()
  endforeach()
  set(root ${QBENCH_LAYERS_DIR}/${name})
  foreach(dir ${sees})
    _qbench_link_dir(${root} ${dir})
  endforeach()
  target_include_directories(qbench_${name} PRIVATE ${root})

  set_property(GLOBAL APPEND PROPERTY QBENCH_LAYERS ${name})
  set_property(GLOBAL PROPERTY QBENCH_LAYER_DIRS_${name} ${L_DIRS})
  set_property(GLOBAL PROPERTY QBENCH_LAYER_DEPS_${name} ${L_DEPS})
  set(doc_libs ${L_LIBS})
  foreach(lib ${L_OPTIONAL_LIBS})
    list(APPEND doc_libs "${lib} (optional)")
  endforeach()
  set_property(GLOBAL PROPERTY QBENCH_LAYER_LIBS_${name} ${doc_libs})
  set_property(GLOBAL PROPERTY QBENCH_LAYER_SEES_${name} ${sees})
  set_property(GLOBAL APPEND PROPERTY QBENCH_LAYER_SOURCES ${sources})
endfunction()

# Compiles TARGET (an executable or test built on one layer) against LAYER's include root, so it
# too may include only that layer and the ones below.
function(qbench_use_layer_root target layer)
  target_include_directories(${target} PRIVATE ${QBENCH_LAYERS_DIR}/${layer})
endfunction()

# qbench_layers_done([OUTSIDE file...])
# After the last layer: fails when a source under src/ belongs to no layer and is not one of
# OUTSIDE (paths under src/, e.g. the executable's main), since a new directory nobody declared
# would otherwise be left out of the build; then writes layers.md, the diagram
# docs/architecture.md carries (tests/e2e/layers_doc.sh compares them).
function(qbench_layers_done)
  cmake_parse_arguments(L "" "" "OUTSIDE" ${ARGN})
  get_property(claimed GLOBAL PROPERTY QBENCH_LAYER_SOURCES)
  list(TRANSFORM L_OUTSIDE PREPEND ${CMAKE_SOURCE_DIR}/src/)
  file(GLOB_RECURSE all CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/*.cpp)
  foreach(f ${claimed} ${L_OUTSIDE})
    list(REMOVE_ITEM all ${f})
  endforeach()
  if(all)
    string(REPLACE ";" "\n  " all "${all}")
    message(FATAL_ERROR "sources in no qbench_layer() (add their directory to one):\n  ${all}")
  endif()

  get_property(layers GLOBAL PROPERTY QBENCH_LAYERS)
  set(table "| layer | sources | uses | libraries |\n|---|---|---|---|\n")
  set(graph "```mermaid\nflowchart BT\n")
  foreach(name ${layers})
    get_property(dirs GLOBAL PROPERTY QBENCH_LAYER_DIRS_${name})
    get_property(deps GLOBAL PROPERTY QBENCH_LAYER_DEPS_${name})
    get_property(libs GLOBAL PROPERTY QBENCH_LAYER_LIBS_${name})
    list(TRANSFORM dirs PREPEND "`src/")
    list(TRANSFORM dirs APPEND "`")
    list(JOIN dirs ", " dirs)
    set(uses "${deps}")
    list(TRANSFORM uses PREPEND "`qbench_")
    list(TRANSFORM uses APPEND "`")
    list(JOIN uses ", " uses)
    list(TRANSFORM libs PREPEND "`")
    list(TRANSFORM libs APPEND "`")
    list(JOIN libs ", " libs)
    string(APPEND table "| `qbench_${name}` | ${dirs} | ${uses} | ${libs} |\n")
    foreach(dep ${deps})
      string(APPEND graph "  ${name} --> ${dep}\n")
    endforeach()
  endforeach()
  string(APPEND graph "```\n")
  file(WRITE ${CMAKE_BINARY_DIR}/layers.md "${table}\n${graph}")
endfunction()
