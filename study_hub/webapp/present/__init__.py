"""What the JSON API and the pages both show, built from the services' results into ``schemas`` models.

The API returns these models; the pages render them. A rule about what is shown lives here once.
"""
