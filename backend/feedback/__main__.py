import sys

from backend.feedback.review import main

sys.exit(main())
