"""okpy-mini: a small stand-in for the Okpy autograder, built to be deployed on Kubernetes in class.

Three tiers, one image:
  web     okpy_mini.web     Flask behind gunicorn: takes submissions, shows queue and progress
  worker  okpy_mini.worker  RQ workers: take submissions off the queue and grade them
  redis   (its own image)   the queue, the counters and the results
"""
