from stellar import task
from stellar.plugins import JobLock, Retry


@task(
    name="reports.build",
    description="Build the monthly report",
    queue="reports",
    timeout=600,  # seconds; a run past it fails with JobTimeout
    plugins=[JobLock(), Retry(retry_limit=3, backoff_strategy=[10, 60])],
)
async def build_report(api, params):
    api.log.info("building the report for %s", params["month"])
