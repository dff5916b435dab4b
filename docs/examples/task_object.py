# A task built without the decorator and given to the application directly.
import asyncio
from pathlib import Path

from stellar import App, Task


async def make_thumbnail(api, params):
    api.log.info("resizing %s to %d px", params["image"], params["width"])


thumbnail = Task(
    name="images.thumbnail",
    description="Make a thumbnail",
    run=make_thumbnail,
    queue="images",
    timeout=60,
)


async def main(root: Path) -> None:
    async with App(root, tasks=[thumbnail], processors=False, scheduler=False) as app:
        for definition in app.registry or ():
            kind = f"every {definition.frequency:g} s" if definition.periodic else "on demand"
            print(f"{definition.name:24} queue={definition.queue:8} {kind}")


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
