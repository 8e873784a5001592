"""Headless-browser helpers (Selenium on Debian's chromium + chromedriver, no browser download), shared by the
app's browser test and the docs screenshot tool (tools/docs_images.py)."""
import shutil


def chromium_paths():
    """(chromium, chromedriver) executables on the PATH, or None when either is missing."""
    browser = shutil.which('chromium') or shutil.which('chromium-browser')
    driver_path = shutil.which('chromedriver')
    return (browser, driver_path) if browser and driver_path else None


def chromium_driver(window_size=(1280, 900)):
    """A headless Chrome WebDriver on the installed chromium and chromedriver; None when either is absent."""
    paths = chromium_paths()
    if paths is None:
        return None
    browser, driver_path = paths
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--window-size={},{}'.format(*window_size)):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    # --window-size includes the (invisible) browser frame; pin the page viewport, so screenshots have that size
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {'width': window_size[0], 'height': window_size[1],
                                                                  'deviceScaleFactor': 1, 'mobile': False})
    return driver


def wait_for_image(driver, elem_id, timeout=60):
    """The <img> elements with a source inside the element ``#elem_id``, once there is one (Gradio fills them in
    after the request returns)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(
        lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, f'#{elem_id} img') if e.get_attribute('src')])
