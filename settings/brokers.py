"""Transport options for the broker URLs, shared by settings and the code that connects."""


def broker_transport_options(url: str, *, filesystem_dir: str) -> dict[str, str]:
    """kombu transport options: folders for `filesystem://`, nothing for AMQP."""
    if not url.startswith("filesystem://"):
        return {}
    return {
        "data_folder_in": f"{filesystem_dir}/data",
        "data_folder_out": f"{filesystem_dir}/data",
        "control_folder": f"{filesystem_dir}/control",
    }
