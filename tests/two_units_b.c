#include "clvmap.h"
#include <string.h>

int describe_in_b(clv_status s)
{
    return strcmp(clv_status_string(s), "OpenCL program build failed");
}
