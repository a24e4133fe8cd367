"""Files in MongoDB GridFS, on the app's own database (reached through MONGO_URL)."""

from __future__ import annotations

from components.storage import StorageWiring


class GridFsStorage:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def backups(self) -> None:
        return None  # no S3 store: dumps need one (README: backups)

    def wiring(self, app: str) -> StorageWiring:
        return StorageWiring(
            env={"FILE_STORAGE": "gridfs", "GRIDFS_BUCKET": self.bucket},
            settings={"backend": "gridfs", "gridfsBucket": self.bucket},
        )
