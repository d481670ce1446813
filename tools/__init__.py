"""The course's build scripts: the student edition (make_student), the static site (make_site)."""
