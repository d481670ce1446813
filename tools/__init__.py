"""The course's build scripts for teachers: the notebooks' normal form (notebook_format, with
nbgrader_tags), the student edition (make_student), the static sites (make_site), an nbgrader
course (nbgrader_course) and the kernels' memory and CPU use (kernel_usage)."""
