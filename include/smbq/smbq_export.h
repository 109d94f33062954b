#ifndef SMBQ_EXPORT_H
#define SMBQ_EXPORT_H
#if defined(SMBQ_BUILDING) && defined(__GNUC__)
#define SMBQ_EXPORT __attribute__((visibility("default")))
#else
#define SMBQ_EXPORT
#endif
#endif
