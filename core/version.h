/* algorun's version. */
#ifndef AR_CORE_VERSION_H
#define AR_CORE_VERSION_H

#define AR_VERSION "0.1.0"

#endif
