#ifndef JWKSD_CYAML_SHIM_H
#define JWKSD_CYAML_SHIM_H
#include <yaml.h>
#endif
