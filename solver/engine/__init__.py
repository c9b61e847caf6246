"""Running a job: the problem the kernels see, the run loop and its trackers, chunks, the result layout.

:mod:`.problem` turns a validated spec into arrays, :mod:`.backends` picks the kernel, :mod:`.run` steps time,
:mod:`.job` runs a job chunk by chunk into its result store (:mod:`.chunks` cuts it, :mod:`.result` names what
is stored), :mod:`.simulate` runs it whole in process and :mod:`.cost` prices it beforehand.
"""
