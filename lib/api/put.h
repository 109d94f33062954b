/* The pure part of smbq_put_small (put.c), for the unit tests. Not
 * installed. */
#ifndef SMBQ_API_PUT_H
#define SMBQ_API_PUT_H

#include <stdbool.h>
#include <stdint.h>

#include "smbq/smbq.h"

/* The FileBasicInformation (MS-FSCC 2.4.7) that applies a: times and
 * attributes not in a->set are 0 ("unchanged"); attributes 0 become
 * FILE_ATTRIBUTE_NORMAL. False (out untouched) when a is NULL or sets
 * nothing: the compound then has no SET_INFO. */
bool api_put_basic_info(const struct smbq_put_attrs *a, uint8_t out[40]);

#endif
