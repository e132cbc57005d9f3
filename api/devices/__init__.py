"""Devices (watches): provisioning with one-time MQTT credentials, stock, case assignment."""
