"""Following the dashboard's navigation in a browser test, as a person does.

The pages sit in menus by purpose (``<details>`` in ``nav.pages``): a link is shown once
its menu is open, so a test opens the menu that holds the link, then follows it.
"""

from __future__ import annotations


def follow_nav(page, label: str) -> None:
    """Open the menu of the nav link whose text is ``label`` and click the link."""
    menu = page.locator("nav.pages details", has=page.locator(f'a:text-is("{label}")'))
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    menu.locator(f'a:text-is("{label}")').click()
