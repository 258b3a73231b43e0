// cprefetch: see include/cprefetch.h. The function is inline there, so that each call is a single
// instruction; SwiftPM wants a source file in a C target, and this is it.
#include "cprefetch.h"
