"""Entry point of the example image: EXAMPLE_APP names the app to run."""
import os
import sys

name = os.environ.get("EXAMPLE_APP", "orders")
if name == "orders":
    from orders import app
elif name == "shipping":
    from shipping import app
else:
    sys.exit("EXAMPLE_APP must be orders or shipping, not %r" % name)
app.run()
