"""The allocator setting that keeps the server's memory flat (see memory.py)."""

import platform

from {{ cookiecutter.project_slug }}.memory import keep_memory_flat


def test_glibc_takes_the_fixed_mmap_threshold_and_other_c_libraries_are_left_alone():
    assert keep_memory_flat() is (platform.libc_ver()[0] == "glibc")
