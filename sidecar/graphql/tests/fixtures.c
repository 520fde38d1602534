int fixtures_dummy;
