/* run_on_devices N PROGRAM [ARGS...]: run PROGRAM with CLV_DEVICES naming N
 * devices of one kind on the first platform (tests/test_util.h's
 * tu_device_spec: N devices, or one device split into N sub-devices), so a
 * program that reads CLV_DEVICES (the manual's example) runs sharded on any
 * platform: PoCL with POCL_DEVICES, or Intel's CPU runtime with sub-devices.
 * When the platform cannot give N devices it says why and runs PROGRAM on
 * device 0 alone. */
#define _POSIX_C_SOURCE 200112L /* setenv, execv */
#include "test_util.h"

#include <unistd.h>

int main(int argc, char **argv)
{
    char spec[1024], why[512];
    int n = argc > 2 ? atoi(argv[1]) : 0;
    if (n < 1) {
        fprintf(stderr, "usage: run_on_devices N PROGRAM [ARGS...]\n");
        return 2;
    }
    if (!tu_device_spec(n, spec, sizeof spec, why, sizeof why)) {
        printf("run_on_devices: %s; running on one device\n", why);
        snprintf(spec, sizeof spec, "0");
    }
    printf("run_on_devices: CLV_DEVICES=\"%s\" %s\n", spec, argv[2]);
    fflush(stdout);
    if (setenv("CLV_DEVICES", spec, 1) != 0) return 2;
    execv(argv[2], argv + 2);
    perror(argv[2]);
    return 2;
}
