/** @file
 * troupe/version.h — which troupe this is.
 *
 * The macros say which headers a program was compiled against;
 * tr_version() says which library it runs with (a shared library may have
 * been upgraded since). */
#ifndef TROUPE_VERSION_H
#define TROUPE_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/**@{*/
/** The headers' version: major, minor, patch, and "major.minor.patch". */
#define TR_VERSION_MAJOR 0
#define TR_VERSION_MINOR 1
#define TR_VERSION_PATCH 0
#define TR_VERSION_STRING "0.1.0"
/**@}*/

/** One number that orders versions: 10000 * major + 100 * minor + patch. */
#define TR_VERSION_NUMBER (TR_VERSION_MAJOR * 10000 + TR_VERSION_MINOR * 100 + TR_VERSION_PATCH)

/** Whether the headers are at least version major.minor.patch. */
#define TR_VERSION_AT_LEAST(major, minor, patch) \
    (TR_VERSION_NUMBER >= (major) * 10000 + (minor) * 100 + (patch))

/** tr_version — the library's version, "major.minor.patch" (static; never
 * NULL). Thread-safe. */
const char *tr_version(void);

/** tr_version_number — the library's TR_VERSION_NUMBER. Thread-safe. */
int tr_version_number(void);

#ifdef __cplusplus
}
#endif
#endif
